/**
 * One viewer's connection: routes its frames (watch, attach, input, driver and size requests)
 * and tells it about the workspaces it watches.
 */
import { MAX_ATTACHMENTS_PER_SOCKET, type ClientFrame, type ErrorCode, type ServerFrame } from '@tabula/protocol'
import type { Logger } from '@tabula/server-kit'
import type { SessionChange, SessionMapView } from '../sessions/types.js'
import { inputRefusal } from './input-bound.js'
import { Attachment, type AttachOptions } from './attachment.js'
import { activeViewerOf, claim, mayResize, release } from './driver.js'
import type { Mirror } from './mirror.js'
import { parseClientFrame } from './parse.js'
import type { Viewer } from './viewer.js'

/** What a connection needs from the channel that owns every connection and mirror. */
export interface Hub {
  readonly sessions: SessionMapView
  readonly log: Logger
  hasWorkspace(id: string): boolean
  mirror(key: string): Mirror | undefined
  /** Every attachment of one session, across viewers (for size/exit/closed broadcasts). */
  join(attachment: Attachment): void
  leave(attachment: Attachment): void
  /** Tells every viewer attached to `key` its current size and driver. */
  broadcastSize(key: string): void
  sizeFrame(key: string, ch: number): ServerFrame | null
  /** Whether the session exited (and with what code) — for a viewer attaching after the fact. */
  exitOf(key: string): { exitCode: number | null } | null
  /** Input from `viewer` to `key` was refused (full): its socket waits a while (input-bound.ts holdReading). */
  inputRefused(viewer: Viewer, key: string): void
}

export class Connection {
  private readonly watching = new Set<string>()
  private readonly attachments = new Map<number, Attachment>()

  constructor(
    private readonly hub: Hub,
    readonly viewer: Viewer,
    /** A watch-only device (docs/daemon.md, "Devices"): it attaches and watches; input, size and driving are refused. */
    private readonly watchOnly = false,
  ) {}

  message(data: Buffer, isBinary: boolean): void {
    const parsed = parseClientFrame(data, isBinary)
    if (!parsed.ok) return this.error(parsed.code, parsed.message, parsed.ch)
    try {
      this.route(parsed.frame)
    } catch (err) {
      // A bug or a PTY that vanished mid-call must cost one error frame, never the daemon.
      this.hub.log.error({ err, viewer: this.viewer.id, type: parsed.frame.type }, 'live frame failed')
      this.error('internal', `${parsed.frame.type} failed: ${(err as Error).message}`)
    }
  }

  /** A change of any workspace's key set; forwarded when this viewer watches that workspace. */
  sessionChange(change: SessionChange): void {
    if (!this.watching.has(change.workspace)) return
    const { workspace, seq } = change
    if (change.type === 'added') this.viewer.send({ type: 'session_added', workspace, seq, session: change.session })
    else if (change.type === 'removed') this.viewer.send({ type: 'session_removed', workspace, seq, key: change.key })
    else this.viewer.send({ type: 'session_updated', workspace, seq, session: change.session })
  }

  /** The attachment a session's broadcast reached was closed at the daemon. */
  forget(attachment: Attachment): void {
    if (this.attachments.get(attachment.ch) === attachment) this.attachments.delete(attachment.ch)
  }

  /** The socket closed: drop every attachment and give up every driver role this viewer held. */
  closed(): void {
    this.viewer.gone()
    const all = [...this.attachments.values()]
    this.attachments.clear()
    this.watching.clear()
    for (const attachment of all) this.drop(attachment)
  }

  private route(frame: ClientFrame): void {
    if (this.watchOnly && changesSomething(frame)) {
      return this.error('forbidden', `this device can only watch: ${frame.type} is refused`, 'ch' in frame ? frame.ch : undefined)
    }
    switch (frame.type) {
      case 'hello':
        this.viewer.name = frame.viewer.name
        this.viewer.kind = frame.viewer.kind
        return
      case 'ping':
        return this.viewer.send(frame.id === undefined ? { type: 'pong' } : { type: 'pong', id: frame.id })
      case 'watch':
        return this.watch(frame.workspace)
      case 'unwatch':
        this.watching.delete(frame.workspace)
        return
      case 'attach':
        return this.attach(frame.ch, frame.key, { binarySnapshot: frame.binarySnapshot === true, screenFirst: frame.screenFirst === true })
      case 'detach': {
        const attachment = this.attachments.get(frame.ch)
        if (!attachment) return this.error('not_found', `no attachment on channel ${frame.ch}`, frame.ch)
        this.attachments.delete(frame.ch)
        attachment.end({ type: 'detached', ch: frame.ch, reason: 'detached' })
        this.drop(attachment)
        return
      }
      case 'input': {
        const attachment = this.attachmentOf(frame.ch)
        if (!attachment) return
        const session = this.hub.sessions.get(attachment.key)
        if (!session) return this.error('not_found', `session ${attachment.key} is gone`, frame.ch)
        if (session.info().status === 'exited') return
        const refused = inputRefusal(session.pty, Buffer.byteLength(frame.data), attachment.key)
        if (refused) {
          this.hub.inputRefused(this.viewer, attachment.key)
          return this.error('input_queue_full', refused, frame.ch)
        }
        session.pty.write(frame.data)
        if (claim(this.hub.sessions, attachment.key, this.viewer.id)) this.hub.broadcastSize(attachment.key)
        return
      }
      case 'resize': {
        const attachment = this.attachmentOf(frame.ch)
        if (!attachment) return
        if (!mayResize(this.hub.sessions, attachment.key, this.viewer.id)) {
          this.viewer.send({
            type: 'resize_ignored',
            ch: frame.ch,
            reason: 'not_active',
            activeViewer: activeViewerOf(this.hub.sessions, attachment.key),
          })
          return
        }
        if (this.applySize(attachment.key, frame.cols, frame.rows)) this.hub.broadcastSize(attachment.key)
        return
      }
      case 'set_active': {
        const attachment = this.attachmentOf(frame.ch)
        if (!attachment) return
        const key = attachment.key
        let changed = frame.active ? claim(this.hub.sessions, key, this.viewer.id) : release(this.hub.sessions, key, this.viewer.id)
        if (frame.active && frame.cols !== undefined && frame.rows !== undefined) {
          changed = this.applySize(key, frame.cols, frame.rows) || changed
        }
        if (changed) return this.hub.broadcastSize(key)
        // Nothing changed (a repeated claim, or a stale release): answer the asker alone, so it
        // learns who drives now.
        const size = this.hub.sizeFrame(key, frame.ch)
        if (size) attachment.control(size)
        return
      }
    }
  }

  private watch(workspace: string): void {
    if (!this.hub.hasWorkspace(workspace)) {
      this.viewer.send({ type: 'error', code: 'not_found', message: `no workspace ${workspace}`, workspace })
      return
    }
    // Watching again (e.g. after a doubt) is allowed and simply restarts with a full set.
    this.watching.add(workspace)
    const { sessions } = this.hub
    this.viewer.send({ type: 'sessions', workspace, seq: sessions.seq, sessions: sessions.list(workspace).map((s) => s.info()) })
  }

  private attach(ch: number, key: string, how: AttachOptions): void {
    if (this.attachments.has(ch)) return this.error('conflict', `channel ${ch} is already attached; detach it first or pick another`, ch)
    if (this.attachments.size >= MAX_ATTACHMENTS_PER_SOCKET) {
      return this.error(
        'limit_reached',
        `this socket already has ${MAX_ATTACHMENTS_PER_SOCKET} terminals attached, the most one may; detach one first`,
        ch,
      )
    }
    const mirror = this.hub.mirror(key)
    const session = this.hub.sessions.get(key)
    if (!mirror || !session) {
      this.viewer.send({ type: 'detached', ch, reason: 'unknown_key' })
      return
    }
    const attachment = new Attachment(this.viewer, ch, key, mirror, () => activeViewerOf(this.hub.sessions, key), how)
    this.attachments.set(ch, attachment)
    this.hub.join(attachment)
    // An exit that happened before this attach would otherwise never be told; one during the
    // snapshot cut arrives through the hub, held in order behind the snapshot.
    const exited = this.hub.exitOf(key)
    attachment.start(exited ? [{ type: 'exit', ch, exitCode: exited.exitCode }] : [])
  }

  /** Resizes the PTY and the headless terminal together; false when the size is already that. */
  private applySize(key: string, cols: number, rows: number): boolean {
    const session = this.hub.sessions.get(key)
    if (!session) return false
    const info = session.info()
    if (info.cols === cols && info.rows === rows) return false
    this.hub.sessions.resize(key, cols, rows)
    this.hub.mirror(key)?.resize(cols, rows)
    return true
  }

  private drop(attachment: Attachment): void {
    attachment.dispose()
    this.hub.leave(attachment)
    // Leaving a terminal gives up driving it, unless this viewer still shows it on another channel.
    const stillShown = [...this.attachments.values()].some((other) => other.key === attachment.key)
    if (!stillShown && release(this.hub.sessions, attachment.key, this.viewer.id)) this.hub.broadcastSize(attachment.key)
  }

  private attachmentOf(ch: number): Attachment | undefined {
    const attachment = this.attachments.get(ch)
    if (!attachment) this.error('not_found', `no attachment on channel ${ch}; attach first`, ch)
    return attachment
  }

  private error(code: ErrorCode, message: string, ch?: number): void {
    this.viewer.send(ch === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ch })
  }
}

/** What a watch-only viewer may not send: input, a size, or a claim of the driver role. */
function changesSomething(frame: ClientFrame): boolean {
  return frame.type === 'input' || frame.type === 'resize' || (frame.type === 'set_active' && frame.active)
}
