/**
 * The one seam between the daemon and its PTY library (node-pty). Everything above it sees a
 * `Pty`: bytes out, in order and complete, then one exit. docs/daemon.md "The PTY layer" says why
 * node-pty was kept and what this module adds to it:
 *
 * - **Every byte before the exit.** node-pty reports an exit and tears down its reader 200 ms
 *   after the program is reaped, or when libuv sees the master hang up. libuv takes a hang-up
 *   on a PTY master as the end of the stream even while the kernel still holds unread output,
 *   so the tail of a program that writes and exits was lost (measured: docs/performance.md).
 *   Here the daemon holds the slave side open itself, so the master never hangs up while the
 *   program's output is in flight. When node-pty reports the program gone, a random marker is
 *   written through the slave: the kernel queues it behind everything the program wrote, so when
 *   the marker comes out of the master, every byte before it has been read. Only then is the
 *   slave let go and the exit reported.
 * - **Nothing of another session.** See fds.ts: on Linux the program is started through a shell
 *   that closes every descriptor the daemon would otherwise hand down.
 */
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { spawn as spawnNodePty } from 'node-pty'
import { queuedInput } from '../live/input-bound.js'
import { containedLaunch } from './fds.js'
import { InputPacer } from './input-pacer.js'
import { processStartTime } from './process-group.js'

/** What the daemon needs of a running terminal. */
export interface Pty {
  readonly pid: number
  readonly cols: number
  readonly rows: number
  /** Input to the program. */
  write(data: string): void
  /** Input written and not yet taken by the terminal, in bytes (the bound: daemon/src/live/input-bound.ts). */
  queuedInput?(): number
  resize(cols: number, rows: number): void
  /** Flow control: stop reading the program's output (it then blocks in write), and go on. */
  pause(): void
  resume(): void
}

export interface PtyEvents {
  /** The program could not be contained (see fds.ts); it runs anyway. */
  uncontained?(): void
  /** The program's output, exactly as written, in order; every chunk before `exit`. */
  data(bytes: Uint8Array): void
  /** Once, after the last byte the program wrote before it ended. */
  exit(exitCode: number, signal: number): void
}

/** A Pty the session map owns: it also ends it. */
export interface OwnedPty extends Pty {
  /** When the program's process started (process-group.ts processStartTime); null if it was already gone. */
  readonly started: string | null
  /** Stops reading and lets the terminal go (the session is being removed or the daemon stops). */
  dispose(): void
}

export interface PtyOptions {
  file: string
  args: string[]
  cwd: string
  env: Record<string, string>
  cols: number
  rows: number
}

/**
 * How often writing the end marker is retried while the terminal cannot take it (its output is
 * full because the daemon paused reading, or stopped by ^S).
 */
export const DRAIN_RETRY_MS = 20

/**
 * After the program is gone, how long the daemon waits for its last output while reading (time
 * spent paused by flow control does not count). Only a terminal whose output was stopped (^S)
 * and never started again reaches it; the exit is then reported without what is stuck there.
 */
export const DRAIN_LIMIT_MS = 5_000

/**
 * A read at least this long says the program writes faster than it is read, so more is most
 * likely waiting already (a Linux PTY hands out at most 4,095 bytes per read).
 */
export const LONG_PTY_READ_BYTES = 1024

/**
 * After a long read, up to this many more reads are made at once, in the same turn, until the
 * terminal has nothing more. libuv takes any read shorter than its 64 KiB buffer to mean "nothing
 * left" and goes back to epoll, a full event-loop turn for every 4 KB of a flood; that capped
 * what the daemon could read from one PTY at about half of what a plain blocking reader gets
 * (docs/performance.md, "What an embedder gets"). 15 more reads is about 60 KB per turn: a
 * flood still lets timers, sockets and other sessions in between every few hundred microseconds.
 */
export const EXTRA_READS_PER_TURN = 15

/** Marker bytes: digits and capitals, which no terminal output setting (OLCUC, ONLCR…) changes. */
const MARKER_BYTES = 24

interface NodePtyInternals {
  /** The slave's path (node-pty's `ptsName`). */
  _pty?: string
  /** The master's descriptor, which libuv reads in non-blocking mode. */
  _fd?: number
  _socket?: {
    destroy(): void
    _readableState?: { decoder?: unknown; encoding?: unknown }
    /** Output node-pty's socket has read but not yet handed out (it buffers while paused). */
    readableLength?: number
  }
}

export function spawnPty(opts: PtyOptions, events: PtyEvents): OwnedPty {
  const launch = containedLaunch(opts.file, opts.args)
  if (!launch.contained) events.uncontained?.()
  const pty = spawnNodePty(launch.file, launch.args, {
    name: 'xterm-256color',
    cols: opts.cols,
    rows: opts.rows,
    cwd: opts.cwd,
    env: opts.env,
  })
  // At once: a program that exits within moments is reaped by node-pty, and its pid is then free.
  const started = processStartTime(pty.pid)
  const internals = pty as unknown as NodePtyInternals
  deliverBytes(internals)
  const drain = holdSlave(internals)
  const socket = internals._socket
  // Input goes through the pacer (input-pacer.ts); node-pty's socket takes bytes as well as text.
  // A write on a later turn has no caller to tell: one to a terminal already gone is dropped, as
  // the program could not have read it.
  const pacer = new InputPacer((bytes) => {
    try {
      ;(pty.write as (data: string | Buffer) => void)(bytes)
    } catch {
      /* the terminal is gone */
    }
  })

  /** Every byte the program wrote has been read (or never can be). */
  let drained = false
  let reported = false
  let disposed = false
  let paused = false
  let marker: Buffer | null = null
  /** The end of the last chunk, kept back while it could be the start of the marker. */
  let carry: Buffer | null = null
  let exitStatus: { code: number; signal: number } | null = null
  let retry: ReturnType<typeof setTimeout> | null = null
  let limit: ReturnType<typeof setTimeout> | null = null
  let waitedMs = 0
  let limitStarted = 0

  const emit = (data: Buffer) => {
    if (data.length && !disposed) events.data(data)
  }

  /** node-pty has seen the program go; the marker goes behind its last output. */
  function startDrain(): void {
    if (marker) return // already draining (node-pty may ask more than once)
    if (!drain || disposed) return finishDrain()
    marker = Buffer.from([...randomBytes(MARKER_BYTES)].map((byte) => '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'[byte % 36]).join(''), 'latin1')
    writeMarker()
    armLimit()
  }

  function writeMarker(): void {
    retry = null
    if (!drain || disposed || !marker) return
    try {
      writeSync(drain.fd, marker)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') retry = setTimeout(writeMarker, DRAIN_RETRY_MS)
      else finishDrain()
    }
  }

  function armLimit(): void {
    if (paused || limit || drained) return
    limitStarted = Date.now()
    limit = setTimeout(finishDrain, Math.max(0, DRAIN_LIMIT_MS - waitedMs))
  }

  function disarmLimit(): void {
    if (!limit) return
    clearTimeout(limit)
    limit = null
    waitedMs += Date.now() - limitStarted
  }

  function onData(data: string | Buffer): void {
    let bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    if (!marker) return emit(bytes)
    if (carry) {
      bytes = Buffer.concat([carry, bytes])
      carry = null
    }
    const at = bytes.indexOf(marker)
    if (at !== -1) {
      emit(bytes.subarray(0, at))
      // Output after the marker can only come from processes the program left behind.
      emit(bytes.subarray(at + marker.length))
      return finishDrain()
    }
    const keep = partialMarkerAt(bytes, marker)
    emit(bytes.subarray(0, bytes.length - keep))
    if (keep) carry = Buffer.from(bytes.subarray(bytes.length - keep))
  }

  /**
   * Everything the program wrote has been read (or never can be): let the slave go and end
   * node-pty's reader, which then reports the exit (see report).
   */
  function finishDrain(): void {
    if (drained) return
    drained = true
    if (retry) clearTimeout(retry)
    disarmLimit()
    if (carry) emit(carry)
    carry = null
    drain?.close()
    drain?.restoreDestroy()
    report()
  }

  function report(): void {
    if (reported || !exitStatus || !(drained || !drain)) return
    reported = true
    if (!disposed) events.exit(exitStatus.code, exitStatus.signal)
  }

  const readMore = moreReader(internals, () => !paused && !disposed && !drained)
  pty.onData((data) => {
    onData(data)
    if (data.length >= LONG_PTY_READ_BYTES) readMore(onData)
  })
  // node-pty reports the exit once its reader is closed, which with a held slave happens only at
  // the end of the drain. Without one (it could not be opened), node-pty's reading is all there is.
  pty.onExit(({ exitCode, signal }) => {
    exitStatus = { code: exitCode, signal: signal ?? 0 }
    // Reported before a drain began only when the reader closed on its own: nothing is left to read.
    if (!drained) finishDrain()
    else report()
  })
  if (drain) {
    // node-pty ends its reader this way once the program is reaped: that is the start of the drain.
    drain.onDestroyRequest(() => startDrain())
  }

  return {
    pid: pty.pid,
    started,
    get cols() {
      return pty.cols
    },
    get rows() {
      return pty.rows
    },
    write: (data) => pacer.push(data),
    // The input bound (daemon/src/live/input-bound.ts): what the pacer holds and what the terminal has not taken.
    queuedInput: () => pacer.queued + queuedInput(pty),
    resize: (cols, rows) => pty.resize(cols, rows),
    pause() {
      paused = true
      disarmLimit()
      pty.pause()
    },
    resume() {
      paused = false
      pty.resume()
      if (marker) armLimit()
    },
    dispose() {
      if (disposed) return
      disposed = true
      pacer.stop()
      if (retry) clearTimeout(retry)
      disarmLimit()
      drain?.close()
      drain?.restoreDestroy()
      try {
        socket?.destroy()
      } catch {
        /* already gone */
      }
    },
  }
}

/** One buffer for every session's extra reads: each read's bytes are copied out of it at once. */
let readBuffer: Buffer | null = null

/**
 * Reads what the terminal already holds, synchronously, after node-pty's read (see
 * EXTRA_READS_PER_TURN), for as long as `wanted()` says (flow control may pause the PTY inside
 * `deliver`). The master is non-blocking (libuv sets it so to poll it): a read with nothing
 * there fails with EAGAIN at once and ends the turn, as does any other error (EIO once the
 * terminal is gone), which node-pty's own next read then sees too.
 *
 * In order: node-pty reads again only after this returns, and nothing is read while its socket
 * still holds output it has not handed out (after a pause it buffers what libuv had read, and
 * hands it out after the resume: a read of ours then would overtake it). Without a descriptor
 * or that count it does nothing.
 */
function moreReader(pty: NodePtyInternals, wanted: () => boolean): (deliver: (data: Buffer) => void) => void {
  const fd = pty._fd
  const socket = pty._socket
  if (typeof fd !== 'number' || typeof socket?.readableLength !== 'number') return () => {}
  return (deliver) => {
    readBuffer ??= Buffer.allocUnsafe(64 * 1024)
    for (let i = 0; i < EXTRA_READS_PER_TURN && wanted() && socket.readableLength === 0; i++) {
      let length: number
      try {
        length = readSync(fd, readBuffer, 0, readBuffer.length, null)
      } catch {
        return
      }
      if (length <= 0) return
      deliver(Buffer.from(readBuffer.subarray(0, length)))
      if (length < LONG_PTY_READ_BYTES) return
    }
  }
}

/**
 * Holds the slave side of `pty` open in the daemon (close-on-exec, so no program inherits it) and
 * takes over node-pty's teardown of its reader. Null when node-pty's internals are not shaped as
 * expected or the slave cannot be opened: output then flows as node-pty alone delivers it.
 */
function holdSlave(pty: NodePtyInternals) {
  const socket = pty._socket
  if (!pty._pty || !socket || typeof socket.destroy !== 'function') return null
  let fd: number
  try {
    fd = openSync(pty._pty, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK)
  } catch {
    return null
  }
  const destroy = socket.destroy
  let onRequest: () => void = () => {}
  // node-pty calls destroy() on a timer after the exit; that would drop unread output. Every
  // call becomes a request to drain; the real destroy runs once the drain is over.
  socket.destroy = function deferredDestroy() {
    onRequest()
    return socket
  }
  let open = true
  return {
    fd,
    onDestroyRequest(listener: () => void) {
      onRequest = listener
    },
    close() {
      if (!open) return
      open = false
      try {
        closeSync(fd)
      } catch {
        /* already closed */
      }
    },
    restoreDestroy() {
      if (socket.destroy === destroy) return
      socket.destroy = destroy
      destroy.call(socket)
    },
  }
}

/**
 * How many bytes at the end of `bytes` are the beginning of `marker` (a marker split between two
 * reads); those wait for the next read.
 */
export function partialMarkerAt(bytes: Uint8Array, marker: Uint8Array): number {
  for (let keep = Math.min(bytes.length, marker.length - 1); keep > 0; keep--) {
    let match = true
    for (let i = 0; i < keep && match; i++) match = bytes[bytes.length - keep + i] === marker[i]
    if (match) return keep
  }
  return 0
}

/**
 * Makes node-pty deliver output as Buffers, exactly as read, instead of decoded strings. The live
 * channel needs bytes: the headless terminal parses UTF-8 itself and viewers get the bytes
 * unchanged, so decoding here (and encoding again for every frame) would be pure overhead on the
 * path that limits a flood. node-pty's own `encoding: null` would do it, but node-pty sets the
 * tty's IUTF8 flag only for utf8 sessions, and without it the kernel's line editing (cooked mode:
 * `read`, `cat`, a password prompt) erases half a character on backspace. So the PTY is spawned
 * as utf8 and the decoder of its socket removed here, before the first read (reads only happen on
 * a later turn of the event loop). If the field is ever not there, output simply stays strings
 * and onData encodes it.
 */
function deliverBytes(pty: NodePtyInternals): void {
  const state = pty._socket?._readableState
  if (!state || !('decoder' in state)) return
  state.decoder = null
  state.encoding = null
}
