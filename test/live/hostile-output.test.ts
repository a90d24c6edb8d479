/**
 * A program printing control sequences with huge counts (docs/daemon.md "Hostile output"): its
 * own screen shows what follows, another session attaches and echoes as usual, and the viewers
 * get the counts clamped to the screen. Through the real daemon, its worker and its PTYs.
 */
import { until } from '../helpers/wait.js'
import { beforeAll, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MAX_QUEUED_INPUT_BYTES, MAX_TITLE_CHARS, clampTitle, type ServerFrame } from '@tabula/protocol'
import type { RunningTabula } from '../helpers/tabula.js'
import { RawViewer, getSession, makeWorkspace, spawnSession, sharedDaemon } from './helpers.js'

const shared = sharedDaemon()
const viewers = shared.viewers
let t: RunningTabula
beforeAll(() => void (t = shared.t))

/** Each of these keeps an unclamped xterm busy for minutes to hours (2³¹−1 steps), or allocates 8 GB. */
const HOSTILE = ['S', 'T', 'L', 'M', 'Z', 'I', 'b'].map((final) => `x\\033[2147483647${final}`).join('')

it('huge counts in one session: it shows what follows them, another session attaches and echoes', async () => {
  const workspace = await makeWorkspace(t)
  const quiet = await spawnSession(t, workspace, { command: 'sh', args: ['-c', 'stty -echo; echo quiet-ready; exec cat'] })
  const hostile = await spawnSession(t, workspace, {
    command: 'sh',
    args: ['-c', `stty -echo; read go; printf '${HOSTILE}'; echo; echo hostile-done; exec cat`],
    cols: 80,
    rows: 24,
  })
  const viewer = await RawViewer.open(t.daemonUrl, t.token)
  viewers.push(viewer)
  await viewer.attach(1, hostile.key)
  viewer.send({ type: 'input', ch: 1, data: 'go\r' })
  await viewer.waitForScreen(1, 'hostile-done')
  // What reached the viewer is the clamped stream: counts no larger than the screen.
  const raw = viewer.channel(1).raw
  expect(raw).not.toContain('2147483647')
  expect(raw).toContain('\x1b[24S')
  expect(raw).toContain(`\x1b[${80 * 24}b`)

  // A late viewer of the hostile session gets its snapshot, a second session attaches and echoes.
  const late = await RawViewer.open(t.daemonUrl, t.token)
  viewers.push(late)
  const attached = await late.attach(1, hostile.key)
  expect(attached.snapshot).toContain('hostile-done')
  await late.attach(2, quiet.key)
  await late.waitForScreen(2, 'quiet-ready')
  late.send({ type: 'input', ch: 2, data: 'still-echoing\r' })
  await late.waitForScreen(2, 'still-echoing')
  expect(late.frames.filter((f: ServerFrame) => f.type === 'error')).toEqual([])
})

it('a 5 MB title from a program is cut to MAX_TITLE_CHARS for watchers, the session list and the state file', async () => {
  const workspace = await makeWorkspace(t)
  const watcher = await RawViewer.open(t.daemonUrl, t.token)
  viewers.push(watcher)
  watcher.send({ type: 'watch', workspace })
  // 5 MB of "é" and emoji: the cut must not split a surrogate pair.
  const session = await spawnSession(t, workspace, {
    command: 'node',
    args: ['-e', `process.stdout.write('\\x1b]0;' + 'é😀'.repeat(1_700_000) + '\\x07title-sent\\n'); setInterval(() => {}, 1000)`],
  })
  const updated = await watcher.next<ServerFrame & { type: 'session_updated' }>(
    (f) => f.type === 'session_updated' && f.session.key === session.key && (f.session.title ?? '').startsWith('é😀'),
    0,
    30_000,
  )
  expect(updated.session.title!.length).toBeLessThanOrEqual(MAX_TITLE_CHARS)
  expect(updated.session.title!.length).toBeGreaterThan(MAX_TITLE_CHARS - 3)
  expect(updated.session.title).toBe(clampTitle('é😀'.repeat(100)))
  expect((await getSession(t, workspace, session.key))!.title).toBe(updated.session.title)
  await until('the cut title in the state file', () => {
    const state = JSON.parse(readFileSync(join(t.home, 'state.json'), 'utf8')) as { sessions: { key: string; title: string | null }[] }
    return state.sessions.find((s) => s.key === session.key)?.title === updated.session.title
  })
})

it('input to a program that never reads stdin: past MAX_QUEUED_INPUT_BYTES it is refused with an error frame', async () => {
  const workspace = await makeWorkspace(t)
  const session = await spawnSession(t, workspace, { command: 'sh', args: ['-c', 'stty -echo -icanon; echo not-reading; exec sleep 1000'] })
  const viewer = await RawViewer.open(t.daemonUrl, t.token)
  viewers.push(viewer)
  await viewer.attach(1, session.key)
  await viewer.waitForScreen(1, 'not-reading')
  const chunk = 'y'.repeat(256 * 1024)
  const from = viewer.mark
  for (let i = 0; i < 4 * (MAX_QUEUED_INPUT_BYTES / chunk.length) + 4; i++) viewer.send({ type: 'input', ch: 1, data: chunk })
  const refused = await viewer.next<ServerFrame & { type: 'error' }>((f) => f.type === 'error' && f.code === 'input_queue_full', from)
  expect(refused).toMatchObject({ ch: 1, message: expect.stringMatching(new RegExp(`${session.key} is not reading its input`)) })
  // The daemon still serves this viewer and the session.
  expect(viewer.isClosed).toBe(false)
  expect((await getSession(t, workspace, session.key))!.status).toBe('running')
})
