/**
 * The live channel end to end: the real CLI daemon, real PTYs, real sockets, viewers speaking
 * the wire protocol (docs/protocol.md) directly.
 */
import { until } from '../helpers/wait.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import http from 'node:http'
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LIVE_PATH, MAX_LIVE_FRAME_BYTES, type ServerFrame } from '@tabula/protocol'
import { removeHome, startTabula, type RunningTabula } from '../helpers/tabula.js'
import { RawViewer, closeSession, getSession, makeWorkspace, spawnSession } from './helpers.js'

let t: RunningTabula
let workspace: string
const viewers: RawViewer[] = []

async function viewer(): Promise<RawViewer> {
  const v = await RawViewer.open(t.daemonUrl, t.token)
  viewers.push(v)
  return v
}

beforeAll(async () => {
  t = await startTabula(['daemon', '--port', '0'])
  workspace = await makeWorkspace(t)
})

afterAll(async () => {
  for (const v of viewers) v.close()
  await t?.stop()
  if (t) removeHome(t.home)
})

/** Sends an upgrade request by hand and returns the HTTP status the server answered with. */
function upgradeStatus(headers: Record<string, string>): Promise<number> {
  const url = new URL(LIVE_PATH, t.daemonUrl)
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': Buffer.from('0123456789abcdef').toString('base64'),
        ...headers,
      },
    })
    req.on('response', (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('upgrade', (_res, socket) => {
      socket.destroy()
      resolve(101)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('the handshake', () => {
  it('refuses an upgrade without a token (401), with a wrong one (403), or from a foreign origin (403)', async () => {
    expect(await upgradeStatus({ 'sec-websocket-protocol': 'tabula.v1' })).toBe(401)
    expect(await upgradeStatus({ 'sec-websocket-protocol': 'tabula.v1, bearer.wrong-token' })).toBe(403)
    expect(await upgradeStatus({ 'sec-websocket-protocol': `tabula.v1, bearer.${t.token}`, origin: 'https://evil.example' })).toBe(403)
    expect(await upgradeStatus({ 'sec-websocket-protocol': `tabula.v1, bearer.${t.token}` })).toBe(101)
  })

  it('selects tabula.v1, never echoes the token, and welcomes the viewer with an id', async () => {
    const v = await viewer()
    expect(v.socket.protocol).toBe('tabula.v1')
    expect(v.viewerId).toMatch(/^v-[0-9a-f]{16}$/)
    const other = await viewer()
    expect(other.viewerId).not.toBe(v.viewerId)
  })
})

describe('watching a workspace', () => {
  it('delivers the full set with seq, then added/updated/removed in seq order', async () => {
    const ws = await makeWorkspace(t)
    const before = await spawnSession(t, ws, { command: 'cat' })
    const v = await viewer()
    v.send({ type: 'watch', workspace: ws })
    const full = await v.next<ServerFrame & { type: 'sessions' }>((f) => f.type === 'sessions' && f.workspace === ws)
    expect(full.sessions.map((s) => s.key)).toEqual([before.key])

    const added = await spawnSession(t, ws, { command: 'cat' })
    expect(await closeSession(t, ws, added.key)).toBe(200)
    const removed = await v.next<ServerFrame & { type: 'session_removed' }>((f) => f.type === 'session_removed' && f.key === added.key)
    const events = v.frames.filter((f) => 'workspace' in f && f.workspace === ws && f.type.startsWith('session_')) as Array<
      ServerFrame & { seq: number }
    >
    expect(events[0]).toMatchObject({ type: 'session_added', session: { key: added.key } })
    const seqs = events.map((e) => e.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(seqs[0]).toBeGreaterThan(full.seq)
    expect(removed.seq).toBe(seqs[seqs.length - 1])
  })

  it('answers a watch of an unknown workspace with an error frame', async () => {
    const v = await viewer()
    v.send({ type: 'watch', workspace: '00000000-0000-4000-8000-000000000000' })
    const err = await v.next((f) => f.type === 'error')
    expect(err).toMatchObject({ code: 'not_found', workspace: '00000000-0000-4000-8000-000000000000' })
  })
})

describe('shared terminals', () => {
  it("two viewers see each other's input on the one PTY", async () => {
    const session = await spawnSession(t, workspace, { command: 'cat' })
    const a = await viewer()
    const b = await viewer()
    await a.attach(1, session.key)
    await b.attach(7, session.key)
    a.send({ type: 'input', ch: 1, data: 'typed-by-a\r' })
    await b.waitForScreen(7, 'typed-by-a')
    b.send({ type: 'input', ch: 7, data: 'typed-by-b\r' })
    await a.waitForScreen(1, 'typed-by-b')
    // cat echoes each line back: the tty echo plus cat's own copy, on both screens alike.
    await until('identical screens', async () => (await a.screenText(1)) === (await b.screenText(7)))
  })

  it("a late viewer's first data holds the earlier output (snapshot), then live output with no gap", async () => {
    const session = await spawnSession(t, workspace, { command: 'sh', args: ['-c', 'printf "early-%s\\n" output; exec cat'] })
    const first = await viewer()
    await first.attach(1, session.key)
    await first.waitForScreen(1, 'early-output')
    const late = await viewer()
    const attached = await late.attach(3, session.key)
    expect(attached.snapshot).toContain('early-output')
    expect(attached).toMatchObject({ key: session.key, cols: session.cols, rows: session.rows })
    first.send({ type: 'input', ch: 1, data: 'after-attach\r' })
    const screen = await late.waitForScreen(3, 'after-attach')
    expect(screen.indexOf('early-output')).toBeLessThan(screen.indexOf('after-attach'))
  })

  it('a viewer that asks for binary snapshots gets the same snapshot in a binary frame right after `attached`', async () => {
    const session = await spawnSession(t, workspace, {
      command: 'sh',
      args: ['-c', 'printf "\\033[31mred\\033[0m caf\\303\\251 \\342\\224\\200 %s\\n" quiet; exec cat'],
    })
    const first = await viewer()
    await first.attach(1, session.key)
    await first.waitForScreen(1, 'quiet')
    const json = await viewer()
    const binary = await viewer()
    binary.binarySnapshot = true
    const fromJson = await json.attach(1, session.key)
    const head = binary.mark
    const fromBinary = await binary.attach(5, session.key)
    // The frame as sent: `attached` with the payload's length and no JSON snapshot, then one
    // binary frame [0x02][ch][ESC c + snapshot] (RawViewer checks the order, length and reset).
    expect(binary.snapshotFrames).toHaveLength(1)
    const frame = binary.snapshotFrames[0]!
    expect(frame.ch).toBe(5)
    expect(Buffer.from(frame.data).toString('utf8')).toBe(`\x1bc${fromJson.snapshot}`)
    expect(fromBinary).toMatchObject({ type: 'attached', ch: 5, key: session.key, cols: session.cols, rows: session.rows })
    expect(binary.frames.slice(head).filter((f) => f.type === 'attached')).toHaveLength(1)
    expect(fromJson.snapshot).toContain('\x1b[31mred')
    // Live output follows the binary snapshot as usual. The line shows twice once it is all
    // there (the PTY's echo, then cat's copy): waiting for its first sight alone raced cat's copy.
    first.send({ type: 'input', ch: 1, data: 'after-binary\r' })
    const both = (viewer: RawViewer, ch: number) =>
      until(`channel ${ch} to show the line twice`, () => viewer.screenText(ch), { ok: (text) => text.split('after-binary').length === 3 })
    const screen = await both(binary, 5)
    expect(screen).toContain('café ─ quiet')
    expect(screen).toBe(await both(json, 1))
  })

  it.each([
    ['a JSON', false],
    ['a binary', true],
  ])('a snapshot taken mid-flood joins the live stream with no gap and no repeat (%s snapshot)', async (_kind, binarySnapshot) => {
    // The flood must still be running when the late viewer's attach is cut, or there is nothing
    // to test. A fixed-length flood (it used to be `seq 1 200000`, ~1.5 MB) is over in ~100–300 ms,
    // while opening a second socket from this process (busy parsing the driver's output) takes
    // 60–300 ms: about one run in five the whole flood, `flood-done` included, was already in the
    // snapshot, no live output followed, and the wait for `flood-done` in the live stream timed
    // out (the daemon was fine: the driver had every byte). So the program counts on, 10,000
    // lines at a time, until the test creates `stop`, which it does only once the cut is known to
    // have fallen inside the flood: after `attached`, on the first live output of the late viewer.
    const stop = join(tmpdir(), `tabula-flood-stop-${process.pid}-${Math.random().toString(36).slice(2)}`)
    const script = 'read go; n=0; while [ ! -e "$1" ]; do seq $((n + 1)) $((n + 10000)); n=$((n + 10000)); done; echo flood-done; exec cat'
    try {
      const session = await spawnSession(t, workspace, { command: 'sh', args: ['-c', script, 'sh', stop] })
      const driver = await viewer()
      await driver.attach(1, session.key)
      driver.send({ type: 'input', ch: 1, data: 'go\r' })
      // Attach while the numbers are streaming: the screen must still read as an unbroken count.
      await until('the flood to start', () => driver.channel(1).bytes > 50_000)
      const late = await viewer()
      late.binarySnapshot = binarySnapshot
      late.onOutput = (ch) => {
        if (ch === 2 && !existsSync(stop)) writeFileSync(stop, '')
      }
      const attached = await late.attach(2, session.key)
      await until('the end of the flood', () => late.channel(2).raw.includes('flood-done'), 30_000)
      await until('the end of the flood for the driver', () => driver.channel(1).raw.includes('flood-done'), 30_000)
      // A resync would replace the snapshot this test checks against; say so rather than report a gap.
      expect(late.frames.filter((f) => f.type === 'resync')).toEqual([])
      // Lines of digits, kept as text until a line split by the cut has been joined.
      const lines = (text: string) =>
        text
          .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '\n')
          .split(/[\r\n]+/)
          .filter((l) => /^\d+$/.test(l))
      const fromSnapshot = lines(attached.snapshot)
      const live = lines(late.channel(2).raw)
      // The cut fell inside the flood: some numbers came in the snapshot, the rest live.
      expect(fromSnapshot.length).toBeGreaterThan(0)
      expect(live.length).toBeGreaterThan(0)
      // The cut falls between two PTY reads, which may split a line: the snapshot then ends with
      // the first digits of a number and the live output starts with the rest. Join them as
      // text: the rest may start with a 0 ("1127" + "01"), which a conversion to number loses.
      const joined = `${fromSnapshot.at(-1)}${live[0]}`
      if (fromSnapshot.length > 1 && Number(joined) === Number(fromSnapshot.at(-2)) + 1) {
        fromSnapshot[fromSnapshot.length - 1] = joined
        live.shift()
      }
      // Snapshot then live output: from the first number this viewer saw to the last one the
      // program wrote, every number exactly once and in order.
      const seen = [...fromSnapshot, ...live].map(Number)
      const last = Number(lines(driver.channel(1).raw).at(-1))
      expect(last % 10_000).toBe(0)
      expect(seen[seen.length - 1]).toBe(last)
      const gaps = seen.filter((n, i) => i > 0 && n !== seen[i - 1]! + 1)
      expect(gaps).toEqual([])
    } finally {
      rmSync(stop, { force: true })
    }
  })

  it('tells attached viewers when the program exits, and when the session is closed', async () => {
    const session = await spawnSession(t, workspace, { command: 'sh', args: ['-c', 'read x; exit 3'] })
    const v = await viewer()
    await v.attach(1, session.key)
    v.send({ type: 'input', ch: 1, data: 'bye\r' })
    expect(await v.next((f) => f.type === 'exit')).toMatchObject({ ch: 1, exitCode: 3 })
    // A viewer attaching after the exit is told at once.
    const late = await viewer()
    await late.attach(4, session.key)
    expect(await late.next((f) => f.type === 'exit')).toMatchObject({ ch: 4, exitCode: 3 })
    expect(await closeSession(t, workspace, session.key)).toBe(200)
    expect(await v.next((f) => f.type === 'detached')).toMatchObject({ ch: 1, reason: 'closed' })
    expect(await late.next((f) => f.type === 'detached')).toMatchObject({ ch: 4, reason: 'closed' })
  })

  it('answers an attach to a key that does not exist with detached/unknown_key', async () => {
    const v = await viewer()
    v.send({ type: 'attach', ch: 9, key: 'tab-00000000-0000-4000-8000-000000000000' })
    expect(await v.next((f) => f.type === 'detached')).toMatchObject({ ch: 9, reason: 'unknown_key' })
  })
})

describe('one driver (I5)', () => {
  it('follows the claim, release (compare-and-set), resize and input rules', async () => {
    const session = await spawnSession(t, workspace, { command: 'cat', cols: 80, rows: 24 })
    const a = await viewer()
    const b = await viewer()
    await a.attach(1, session.key)
    await b.attach(2, session.key)

    // Nobody drives yet: a resize is ignored and answered so.
    let from = a.mark
    a.send({ type: 'resize', ch: 1, cols: 100, rows: 30 })
    expect(await a.next((f) => f.type === 'resize_ignored', from)).toMatchObject({ ch: 1, reason: 'not_active', activeViewer: null })

    // A claims with its size: both viewers are told; the PTY and the headless terminal follow.
    let fromB = b.mark
    a.send({ type: 'set_active', ch: 1, active: true, cols: 100, rows: 30 })
    expect(await b.next((f) => f.type === 'size', fromB)).toMatchObject({ ch: 2, cols: 100, rows: 30, activeViewer: a.viewerId })
    expect(await getSession(t, workspace, session.key)).toMatchObject({ cols: 100, rows: 30, activeViewer: a.viewerId })
    a.send({ type: 'input', ch: 1, data: 'stty size\r' }) // cat just echoes; the PTY size shows via a new attach
    const c = await viewer()
    expect(await c.attach(3, session.key)).toMatchObject({ cols: 100, rows: 30, activeViewer: a.viewerId })

    // B is not active: its resize is ignored.
    from = b.mark
    b.send({ type: 'resize', ch: 2, cols: 60, rows: 20 })
    expect(await b.next((f) => f.type === 'resize_ignored', from)).toMatchObject({ activeViewer: a.viewerId })

    // Input from B makes B active, and everyone hears of it.
    from = a.mark
    b.send({ type: 'input', ch: 2, data: 'b-types\r' })
    expect(await a.next((f) => f.type === 'size', from)).toMatchObject({ activeViewer: b.viewerId, cols: 100, rows: 30 })
    // B may now resize; A's resize is ignored.
    from = a.mark
    b.send({ type: 'resize', ch: 2, cols: 90, rows: 25 })
    expect(await a.next((f) => f.type === 'size', from)).toMatchObject({ cols: 90, rows: 25, activeViewer: b.viewerId })

    // A stale release (A no longer holds it) changes nothing; A is told who drives.
    from = a.mark
    fromB = b.mark
    a.send({ type: 'set_active', ch: 1, active: false })
    expect(await a.next((f) => f.type === 'size', from)).toMatchObject({ activeViewer: b.viewerId })
    expect((await getSession(t, workspace, session.key))?.activeViewer).toBe(b.viewerId)
    expect(b.frames.slice(fromB).some((f) => f.type === 'size')).toBe(false)

    // B's own release counts.
    from = a.mark
    b.send({ type: 'set_active', ch: 2, active: false })
    expect(await a.next((f) => f.type === 'size', from)).toMatchObject({ activeViewer: null })

    // The driver's disconnect releases its claim.
    b.send({ type: 'set_active', ch: 2, active: true })
    await a.next((f) => f.type === 'size' && f.activeViewer === b.viewerId, from)
    from = a.mark
    b.close()
    expect(await a.next((f) => f.type === 'size', from)).toMatchObject({ activeViewer: null })
    expect((await getSession(t, workspace, session.key))?.activeViewer).toBeNull()
  })
})

describe('what the program tells the terminal', () => {
  it("turns an OSC title into session_updated for watchers and the session's title over HTTP", async () => {
    const ws = await makeWorkspace(t)
    const v = await viewer()
    v.send({ type: 'watch', workspace: ws })
    await v.next((f) => f.type === 'sessions')
    const session = await spawnSession(t, ws, { command: 'sh', args: ['-c', "printf '\\033]0;hello\\007'; exec cat"] })
    const updated = await v.next<ServerFrame & { type: 'session_updated' }>(
      (f) => f.type === 'session_updated' && f.session.key === session.key && f.session.title !== null,
    )
    expect(updated.session.title).toBe('hello')
    expect((await getSession(t, ws, session.key))?.title).toBe('hello')
  })

  it("bytes the terminal cannot parse reach the screen and viewers, and nothing of them reaches the daemon's log", async () => {
    const ws = await makeWorkspace(t)
    const v = await viewer()
    // DEL in the middle of text makes xterm report a parsing error (to the console, by default).
    const session = await spawnSession(t, ws, { command: 'sh', args: ['-c', "printf 'before\\177after\\r\\n'; exec cat"] })
    await v.attach(1, session.key)
    await v.waitForScreen(1, 'beforeafter')
    const late = await viewer()
    expect((await late.attach(1, session.key)).snapshot).toContain('beforeafter')
    expect(t.output()).not.toContain('Parsing error')
  })
})

describe("the PTY's real size (I5)", () => {
  it("follows the active viewer's resize, and not a resize from a viewer that does not drive", async () => {
    // Prints the PTY's size as the kernel has it (rows cols) for every line it reads.
    const session = await spawnSession(t, workspace, {
      command: 'sh',
      args: ['-c', 'stty -echo; while read x; do echo "size=$(stty size)"; done'],
      cols: 80,
      rows: 24,
    })
    const a = await viewer()
    const b = await viewer()
    await a.attach(1, session.key)
    await b.attach(1, session.key)

    let from = a.mark
    a.send({ type: 'set_active', ch: 1, active: true })
    await a.next((f) => f.type === 'size' && f.activeViewer === a.viewerId, from)
    from = a.mark
    a.send({ type: 'resize', ch: 1, cols: 132, rows: 43 })
    await a.next((f) => f.type === 'size' && f.cols === 132, from)
    // Asking from b (not a) must not take the role over: only input does that.
    from = b.mark
    b.send({ type: 'resize', ch: 1, cols: 40, rows: 10 })
    await b.next((f) => f.type === 'resize_ignored', from)
    a.send({ type: 'input', ch: 1, data: 'x\r' })
    expect(await a.waitForScreen(1, 'size=')).toContain('size=43 132')
    expect(await a.screenText(1)).not.toContain('size=10 40')
  })
})

describe('--scrollback', () => {
  it('bounds what a late joiner gets to that many lines of history', async () => {
    const SCROLLBACK_LINES = 50
    const own = await startTabula(['daemon', '--port', '0', '--scrollback', String(SCROLLBACK_LINES)])
    try {
      const ws = await makeWorkspace(own)
      const rows = 10
      const total = 500
      const session = await spawnSession(own, ws, { command: 'sh', args: ['-c', `seq 1 ${total}; echo seq-done; exec cat`], rows })
      const early = await RawViewer.open(own.daemonUrl, own.token)
      viewers.push(early)
      await early.attach(1, session.key)
      await early.waitForScreen(1, 'seq-done')
      const late = await RawViewer.open(own.daemonUrl, own.token)
      viewers.push(late)
      const attached = await late.attach(1, session.key)
      const numbers = attached.snapshot
        .split(/\r?\n/)
        .map((line) => line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').trim())
        .filter((line) => /^\d+$/.test(line))
        .map(Number)
      // Scrollback plus the screen, no more: the oldest lines are gone, the newest all there.
      expect(numbers.length).toBeLessThanOrEqual(SCROLLBACK_LINES + rows)
      expect(numbers.length).toBeGreaterThanOrEqual(SCROLLBACK_LINES)
      expect(numbers.at(-1)).toBe(total)
      expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => total - numbers.length + 1 + i))
    } finally {
      await own.stop()
      removeHome(own.home)
    }
  })
})

describe('bad input', () => {
  it('answers malformed, unknown, invalid, binary and oversized frames with error frames and keeps serving', async () => {
    const v = await viewer()
    const errors = () => v.frames.filter((f): f is ServerFrame & { type: 'error' } => f.type === 'error')

    v.sendRaw('{not json')
    await until('an error for malformed JSON', () => errors().length === 1)
    v.send({ type: 'launch_missiles' } as never)
    await until('an error for an unknown type', () => errors().length === 2)
    v.send({ type: 'resize', ch: 1, cols: 'wide', rows: 10 } as never)
    await until('an error for a schema failure', () => errors().length === 3)
    v.sendRaw(Buffer.from([1, 2, 3]), true)
    await until('an error for a binary frame', () => errors().length === 4)
    v.send({ type: 'input', ch: 1, data: 'x'.repeat(MAX_LIVE_FRAME_BYTES + 10) })
    await until('an error for an oversized frame', () => errors().length === 5)
    v.send({ type: 'input', ch: 42, data: 'nobody here' })
    await until('an error for input on a channel never attached', () => errors().length === 6)

    expect(errors().map((e) => e.code)).toEqual([
      'invalid_json',
      'unknown_frame',
      'invalid_frame',
      'unknown_frame',
      'frame_too_large',
      'not_found',
    ])
    expect(errors()[2]!.message).toMatch(/cols/)
    expect(errors()[5]).toMatchObject({ ch: 42 })

    // The same socket still serves, and so does the daemon.
    v.send({ type: 'ping', id: 7 })
    expect(await v.next((f) => f.type === 'pong')).toEqual({ type: 'pong', id: 7 })
    const health = await fetch(t.daemonUrl + '/v1/health')
    expect(health.status).toBe(200)
  })

  it('closes a socket that sends a message beyond the hard payload cap, and the daemon keeps serving', async () => {
    const v = await viewer()
    v.sendRaw('x'.repeat(5 * MAX_LIVE_FRAME_BYTES))
    await until('the socket to close', () => v.isClosed)
    const again = await viewer()
    again.send({ type: 'ping' })
    expect(await again.next((f) => f.type === 'pong')).toEqual({ type: 'pong' })
  })
})
