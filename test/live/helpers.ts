/**
 * Test helpers for the live channel: a raw protocol viewer (a `ws` client that speaks the frames
 * of docs/protocol.md by hand), a screen that renders what a viewer received, and daemon setup.
 */
import { until } from '../helpers/wait.js'
import WebSocket from 'ws'
import xtermHeadless from '@xterm/headless'
import { mkdirSync, readFileSync } from 'node:fs'
import { BINARY_SNAPSHOT, decodeBinaryFrame, wsProtocols, type ClientFrame, type ServerFrame, type Session } from '@tabula/protocol'
import { afterAll, beforeAll } from 'vitest'
import { authedFetch, removeHome, startTabula, type RunningTabula } from '../helpers/tabula.js'

const { Terminal } = xtermHeadless

export function liveUrlOf(base: string): string {
  return base.replace(/^http/, 'ws') + '/v1/live'
}

/** Creates a workspace and returns its id. */
export async function makeWorkspace(t: RunningTabula, path = `/tmp/ws-${Math.random().toString(36).slice(2)}`): Promise<string> {
  mkdirSync(path, { recursive: true }) // a new workspace must be an existing directory
  const res = await authedFetch(t.daemonUrl, t.token)('/v1/workspaces', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path }),
  })
  if (res.status >= 300) throw new Error(`create workspace: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { id: string }).id
}

export async function spawnSession(t: RunningTabula, workspace: string, body: Record<string, unknown>): Promise<Session> {
  const res = await authedFetch(t.daemonUrl, t.token)(`/v1/workspaces/${workspace}/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (res.status >= 300) throw new Error(`spawn: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { session: Session }).session
}

export async function getSession(t: RunningTabula, workspace: string, key: string): Promise<Session | undefined> {
  const res = await authedFetch(t.daemonUrl, t.token)(`/v1/workspaces/${workspace}/sessions`)
  const list = (await res.json()) as { sessions: Session[] }
  return list.sessions.find((s) => s.key === key)
}

export async function closeSession(t: RunningTabula, workspace: string, key: string): Promise<number> {
  const res = await authedFetch(t.daemonUrl, t.token)(`/v1/workspaces/${workspace}/sessions/${key}`, { method: 'DELETE' })
  return res.status
}

/** Resident memory of a process in bytes, from /proc (Linux). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)
  return kb ? Number(kb[1]) * 1024 : 0
}

/** A headless emulator fed exactly what a viewer got; `text()` is what a person would read. */
export class Screen {
  private readonly term = new Terminal({ cols: 120, rows: 40, scrollback: 20_000, allowProposedApi: true })

  write(data: string | Uint8Array): void {
    this.term.write(data)
  }

  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows)
  }

  /** Every line of scrollback and screen, trailing blanks trimmed, after pending writes parse. */
  async text(): Promise<string> {
    await new Promise<void>((resolve) => this.term.write('', resolve))
    const buffer = this.term.buffer.active
    const lines: string[] = []
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '')
    return lines.join('\n').trimEnd()
  }

  dispose(): void {
    this.term.dispose()
  }
}

interface Channel {
  screen: Screen
  /** Every output byte since the last snapshot, as text. */
  raw: string
  bytes: number
  decoder: TextDecoder
}

/** An `attached` frame as a RawViewer records it: with its snapshot, whichever way it came. */
export type AttachedFrame = Extract<ServerFrame, { type: 'attached' }> & { snapshot: string }
export type ResyncFrame = Extract<ServerFrame, { type: 'resync' }> & { snapshot: string }

/** A viewer speaking the wire protocol directly, as a third-party client would. */
export class RawViewer {
  readonly frames: ServerFrame[] = []
  readonly channels = new Map<number, Channel>()
  viewerId: string | null = null
  /** Keep the raw stream text per channel (off for floods that only count). */
  keepRaw = true
  onOutput: ((ch: number, data: Uint8Array) => void) | null = null
  /**
   * Attach asking for binary snapshots (docs/protocol.md §4). An `attached`/`resync` frame is
   * recorded once its binary snapshot frame has come, with `snapshot` filled in from it (without
   * the leading reset), so tests read both kinds the same way.
   */
  binarySnapshot = false
  /** An `attached`/`resync` frame per channel that waits for its binary snapshot frame. */
  private readonly awaitingSnapshot = new Map<number, ServerFrame & { type: 'attached' | 'resync' }>()
  /** Binary snapshot frames received, each whole, for tests of the frame itself. */
  readonly snapshotFrames: Array<{ ch: number; data: Uint8Array }> = []
  private closed = false

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        const frame = decodeBinaryFrame(data)
        if (!frame) return
        if (frame.kind === BINARY_SNAPSHOT) return this.snapshotArrived(frame.ch, frame.data)
        const channel = this.channels.get(frame.ch)
        if (channel) {
          channel.bytes += frame.data.length
          if (this.keepRaw) {
            channel.screen.write(frame.data)
            channel.raw += channel.decoder.decode(frame.data, { stream: true })
          }
        }
        this.onOutput?.(frame.ch, frame.data)
        return
      }
      const frame = JSON.parse(data.toString('utf8')) as ServerFrame
      if ((frame.type === 'attached' || frame.type === 'resync') && frame.snapshotBytes !== undefined) {
        this.awaitingSnapshot.set(frame.ch, frame)
        return
      }
      this.frames.push(frame)
      if (frame.type === 'welcome') this.viewerId = frame.viewerId
      if (frame.type === 'attached' || frame.type === 'resync') this.showSnapshot(frame.ch, frame.cols, frame.rows, frame.snapshot)
    })
    socket.on('close', () => (this.closed = true))
  }

  private snapshotArrived(ch: number, data: Uint8Array): void {
    this.snapshotFrames.push({ ch, data })
    const head = this.awaitingSnapshot.get(ch)
    if (!head) throw new Error(`a binary snapshot frame for channel ${ch} came without its attached/resync frame`)
    this.awaitingSnapshot.delete(ch)
    if (head.snapshotBytes !== data.length) throw new Error(`snapshotBytes ${head.snapshotBytes}, frame ${data.length}`)
    const text = new TextDecoder().decode(data)
    if (!text.startsWith('\x1bc')) throw new Error('a binary snapshot must start with a full reset')
    const { snapshotBytes: _, ...rest } = head
    this.frames.push({ ...rest, snapshot: text.slice(2) } as ServerFrame)
    this.showSnapshot(ch, head.cols, head.rows, text.slice(2))
  }

  private showSnapshot(ch: number, cols: number, rows: number, snapshot: string): void {
    const channel = this.channel(ch)
    channel.screen.write('\x1bc')
    channel.screen.resize(cols, rows)
    channel.screen.write(snapshot)
    channel.raw = ''
    channel.decoder = new TextDecoder()
  }

  static async open(base: string, token: string, options: WebSocket.ClientOptions = {}): Promise<RawViewer> {
    const socket = new WebSocket(liveUrlOf(base), wsProtocols(token), { ...options, perMessageDeflate: false })
    const viewer = new RawViewer(socket)
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('error', reject)
    })
    await viewer.next((f) => f.type === 'welcome')
    return viewer
  }

  get isClosed(): boolean {
    return this.closed
  }

  channel(ch: number): Channel {
    let channel = this.channels.get(ch)
    if (!channel) this.channels.set(ch, (channel = { screen: new Screen(), raw: '', bytes: 0, decoder: new TextDecoder() }))
    return channel
  }

  send(frame: ClientFrame): void {
    this.socket.send(JSON.stringify(frame))
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.socket.send(data, { binary })
  }

  /** The first frame (from `from` on) matching `match`, waiting for it if need be. */
  async next<T extends ServerFrame = ServerFrame>(match: (f: ServerFrame) => boolean, from = 0, timeoutMs = 15_000): Promise<T> {
    const found = await until('a matching frame', () => this.frames.slice(from).find(match), timeoutMs)
    return found as T
  }

  /** Frames received from now on only: the index to pass as `from`. */
  get mark(): number {
    return this.frames.length
  }

  async attach(ch: number, key: string): Promise<AttachedFrame> {
    const from = this.mark
    this.send(this.binarySnapshot ? { type: 'attach', ch, key, binarySnapshot: true } : { type: 'attach', ch, key })
    return this.next((f) => f.type === 'attached' && f.ch === ch, from)
  }

  async screenText(ch: number): Promise<string> {
    return this.channel(ch).screen.text()
  }

  async waitForScreen(ch: number, text: string, timeoutMs = 15_000): Promise<string> {
    return until(`screen of channel ${ch} to show ${JSON.stringify(text)}`, () => this.screenText(ch), {
      ok: (screen) => screen.includes(text),
      timeoutMs,
    })
  }

  close(): void {
    this.socket.terminate()
    for (const channel of this.channels.values()) channel.screen.dispose()
  }
}

/**
 * One `tabula daemon` shared by a test file: started before its tests, stopped (its home removed,
 * the viewers pushed to `viewers` closed) after them.
 */
export function sharedDaemon(): { readonly t: RunningTabula; viewers: RawViewer[] } {
  const shared = { t: undefined as unknown as RunningTabula, viewers: [] as RawViewer[] }
  beforeAll(async () => {
    shared.t = await startTabula(['daemon', '--port', '0'])
  })
  afterAll(async () => {
    for (const v of shared.viewers) v.close()
    await shared.t?.stop()
    if (shared.t) removeHome(shared.t.home)
  })
  return shared
}
