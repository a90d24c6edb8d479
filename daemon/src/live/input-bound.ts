/**
 * The bound on input queued for a program that does not read it (MAX_QUEUED_INPUT_BYTES). A PTY
 * write that the kernel cannot take at once waits in the PTY socket's own buffer, without limit;
 * this asks that buffer how much already waits before adding more. Called from the one place
 * input reaches a PTY (channel.ts), so another PTY backend only needs to expose the same count.
 */
import { MAX_QUEUED_INPUT_BYTES } from '@tabula/protocol'

/**
 * Bytes written to the PTY and not yet taken by the kernel (0 where the backend cannot say): a
 * PTY seam that wraps its library answers `queuedInput()`; node-pty's own object keeps them in
 * its socket's buffer.
 */
export function queuedInput(pty: unknown): number {
  const own = (pty as { queuedInput?: () => number } | null)?.queuedInput
  if (typeof own === 'function') return own.call(pty)
  const socket = (pty as { _socket?: { writableLength?: unknown } } | null)?._socket
  return typeof socket?.writableLength === 'number' ? socket.writableLength : 0
}

/** Null when `bytes` more may be queued for the program, else why not, for an error frame. */
export function inputRefusal(pty: unknown, bytes: number, key: string): string | null {
  const queued = queuedInput(pty)
  if (queued === 0 || queued + bytes <= MAX_QUEUED_INPUT_BYTES) return null
  return `${key} is not reading its input: ${queued} bytes already wait for it (the limit is ${MAX_QUEUED_INPUT_BYTES}); these ${bytes} bytes were not sent`
}

/**
 * After a refusal, the socket that sent the input is not read for a while: until the session has
 * room for input again (half the bound free) or INPUT_REFUSED_PAUSE_MS have passed, whichever
 * comes first. A client that keeps sending to a program that does not read then meets TCP's own
 * backpressure (its sends wait in its buffers) instead of the daemon reading, unmasking, parsing
 * and refusing every frame: 12.8 MB/s of refused frames cost the daemon a tenth of a core
 * (docs/performance.md "A hostile session"). The pause is bounded so the socket's other frames
 * (other terminals, pongs for the keepalive) still get through, one window a second; other
 * sockets are never affected. See docs/daemon.md "Hostile output".
 */
export const INPUT_REFUSED_PAUSE_MS = 1_000
/** How often a paused socket looks whether the session has room again. */
export const INPUT_ROOM_POLL_MS = 50

/** What the gate needs of a socket (a `ws` WebSocket). */
export interface PausableSocket {
  pause(): void
  resume(): void
}

/** One socket's hold on reading (see INPUT_REFUSED_PAUSE_MS). */
export class InputGate {
  private timer: ReturnType<typeof setTimeout> | null = null

  constructor(
    private readonly socket: PausableSocket,
    private readonly pauseMs = INPUT_REFUSED_PAUSE_MS,
  ) {}

  /** True while the socket is not read. */
  get holding(): boolean {
    return this.timer !== null
  }

  /** Input was refused: the socket is not read until `hasRoom()` or the pause is over. A call while holding changes nothing. */
  hold(hasRoom: () => boolean): void {
    if (this.timer) return
    this.socket.pause()
    const until = performance.now() + this.pauseMs
    const look = () => {
      if (hasRoom() || performance.now() >= until) {
        this.timer = null
        this.socket.resume()
      } else this.timer = setTimeout(look, INPUT_ROOM_POLL_MS)
    }
    this.timer = setTimeout(look, INPUT_ROOM_POLL_MS)
  }

  /** The socket closed. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }
}

/** True when the session's queued input has fallen to half the bound (room for a paste again). */
export function hasInputRoom(pty: unknown): boolean {
  return queuedInput(pty) <= MAX_QUEUED_INPUT_BYTES / 2
}
