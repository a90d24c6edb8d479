/**
 * The handle `attach(key)` returns. It outlives connections: the client re-attaches it on every
 * reconnect, and each (re)attach starts with a full reset plus the daemon's snapshot, so whoever
 * listens just writes what it gets into its emulator.
 */
import { INPUT_CHUNK_CHARS, type ClientFrame } from '@tabula/protocol'
import { Listeners } from '@tabula/protocol'
import type { Disposable, SizeChange, TerminalHandle } from './types.js'

/** What a handle needs from its client: a way to send, if the socket is open. */
export interface HandleHost {
  /** Sends when connected; returns false (dropping the frame) otherwise. */
  send(frame: ClientFrame): boolean
  release(handle: Terminal): void
}

/**
 * Which frame a snapshot came with: `attached` (the first of this attach), a `resync` of a viewer
 * that fell behind, or the `resync` with the history after a screen-first attach's screen.
 */
export type SnapshotKind = 'attached' | 'resync' | 'history'

/** What an `attached` or `resync` frame says besides its snapshot. */
interface SnapshotHead {
  cols: number
  rows: number
  activeViewer: string | null
  kind: SnapshotKind
}

export class Terminal implements TerminalHandle {
  private readonly data = new Listeners<[string]>()
  private readonly bytes = new Listeners<[Uint8Array]>()
  private readonly exits = new Listeners<[number | null]>()
  private readonly sizes = new Listeners<[SizeChange]>()
  private readonly closes = new Listeners<[string]>()
  private decoder = new TextDecoder()
  /** Output went by without a string listener, so the decoder's state is stale. */
  private undecoded = false
  /** Whether this viewer wants to drive: re-claimed after a reconnect, since the daemon forgets. */
  private wantsActive = false
  /** setActive(true) was asked before the first attach answered: an explicit claim to send then. */
  private claimRequested = false
  /** Input written before the first attach answered; null from then on. */
  private earlyInput: string[] | null = []
  private lastRequested: { cols: number; rows: number } | null = null
  /** An `attached`/`resync` frame whose snapshot is the next binary frame of this channel. */
  private pendingSnapshot: SnapshotHead | null = null
  /** True from the daemon's `attached` until the socket drops. */
  attached = false
  finished = false
  size: SizeChange | null = null

  constructor(
    readonly key: string,
    /** This handle's channel on the socket; the same number is reused across reconnects. */
    readonly ch: number,
    private readonly host: HandleHost,
    private readonly viewerId: () => string | null,
    /** Attach screen first (AttachOptions.screenFirst), at every (re)attach. */
    private readonly screenFirst = false,
  ) {}

  onData(listener: (data: string) => void): Disposable {
    return this.data.add(listener)
  }
  onBytes(listener: (data: Uint8Array) => void): Disposable {
    return this.bytes.add(listener)
  }
  onExit(listener: (exitCode: number | null) => void): Disposable {
    return this.exits.add(listener)
  }
  onSize(listener: (size: SizeChange) => void): Disposable {
    return this.sizes.add(listener)
  }
  onClosed(listener: (reason: string) => void): Disposable {
    return this.closes.add(listener)
  }

  /**
   * Input typed before the first attach has answered is kept and sent once it has (a viewer can
   * type at once); typing into a dropped connection goes nowhere, as in ssh.
   */
  write(data: string): void {
    if (this.finished) return
    if (!this.attached) {
      this.earlyInput?.push(data)
      return
    }
    this.wantsActive = true
    let at = 0
    while (at < data.length) {
      let end = Math.min(data.length, at + INPUT_CHUNK_CHARS)
      // Never split a surrogate pair across two frames.
      if (end < data.length && isHighSurrogate(data.charCodeAt(end - 1))) end--
      this.host.send({ type: 'input', ch: this.ch, data: data.slice(at, end) })
      at = end
    }
  }

  resize(cols: number, rows: number): void {
    if (this.finished) return
    this.lastRequested = { cols, rows }
    if (this.attached) this.host.send({ type: 'resize', ch: this.ch, cols, rows })
  }

  setActive(active: boolean): void {
    if (this.finished) return
    this.wantsActive = active
    if (!this.attached) {
      this.claimRequested = active
      return
    }
    const size = active && this.lastRequested ? this.lastRequested : {}
    this.host.send({ type: 'set_active', ch: this.ch, active, ...size })
  }

  dispose(): void {
    if (this.finished) return
    this.finished = true
    if (this.attached) this.host.send({ type: 'detach', ch: this.ch })
    this.attached = false
    this.host.release(this)
    this.clearListeners()
  }

  // ── called by the client ────────────────────────────────────────────────────────────────────

  /**
   * The socket is (re)open: ask for a fresh snapshot, in a binary frame (docs/protocol.md §4), so
   * it reaches onBytes listeners as the very bytes the daemon wrote.
   */
  reattach(): void {
    this.attached = false
    this.pendingSnapshot = null
    const frame: ClientFrame = { type: 'attach', ch: this.ch, key: this.key, binarySnapshot: true }
    this.host.send(this.screenFirst ? { ...frame, screenFirst: true } : frame)
  }

  /** `attached` or `resync` whose snapshot is the next binary snapshot frame of this channel. */
  awaitSnapshot(cols: number, rows: number, activeViewer: string | null, kind: SnapshotKind): void {
    this.pendingSnapshot = { cols, rows, activeViewer, kind }
  }

  /**
   * The binary snapshot frame: the reset and the snapshot, as bytes, which byte listeners get as
   * they are and string listeners decoded; then the size of its `attached`/`resync` frame.
   */
  snapshotFrame(bytes: Uint8Array): void {
    const head = this.pendingSnapshot
    if (!head) return
    this.pendingSnapshot = null
    const { cols, rows, activeViewer, kind } = head
    const first = kind === 'attached'
    this.decoder = new TextDecoder()
    this.undecoded = false
    if (this.data.size) this.data.emit(this.decoder.decode(bytes))
    if (this.bytes.size) this.bytes.emit(bytes)
    // The history after a screen-first attach changes no size: any change came as a `size` frame
    // before it, and telling the same size again would only make views claim or fit once more.
    if (kind === 'history' && this.size?.cols === cols && this.size.rows === rows) return
    // Read before sized(), which forgets a wish to drive when another viewer drives: a claim the
    // program asked for explicitly is still sent, while one merely left over from before a
    // reconnect yields to whoever took over meanwhile.
    const requested = first && this.claimRequested
    this.sized({ cols, rows, activeViewer })
    if (first) {
      this.attached = true
      this.claimRequested = false
      if (requested) this.wantsActive = true
      // Claim as asked, or take back the claim the daemon dropped with the old connection.
      if (this.wantsActive && activeViewer !== this.viewerId()) {
        const size = this.lastRequested ?? {}
        this.host.send({ type: 'set_active', ch: this.ch, active: true, ...size })
      }
      const typed = this.earlyInput?.join('')
      this.earlyInput = null
      if (typed) this.write(typed)
    }
  }

  output(bytes: Uint8Array): void {
    if (this.bytes.size) this.bytes.emit(bytes)
    // Decoded only for string listeners (a decoder that skipped bytes would lose its place, so
    // it restarts at the next snapshot when string listeners come late).
    if (!this.data.size) {
      this.undecoded = true
      return
    }
    if (this.undecoded) {
      this.undecoded = false
      this.decoder = new TextDecoder()
    }
    const text = this.decoder.decode(bytes, { stream: true })
    if (text) this.data.emit(text)
  }

  sized(size: SizeChange): void {
    this.size = size
    // Another viewer took over: stop re-claiming on reconnect, it is theirs now.
    if (size.activeViewer !== null && size.activeViewer !== this.viewerId()) this.wantsActive = false
    this.sizes.emit(size)
  }

  exited(exitCode: number | null): void {
    this.exits.emit(exitCode)
  }

  /** The socket dropped; the handle waits for the next connection. */
  disconnected(): void {
    this.attached = false
    this.pendingSnapshot = null
  }

  /** The session is gone for good (closed at the daemon, or never existed). */
  closed(reason: string): void {
    if (this.finished) return
    this.finished = true
    this.attached = false
    this.closes.emit(reason)
    this.host.release(this)
    this.clearListeners()
  }

  private clearListeners(): void {
    this.data.clear()
    this.bytes.clear()
    this.exits.clear()
    this.sizes.clear()
    this.closes.clear()
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}
