/**
 * State across restarts: sessions come back under the same keys, `--no-restore` starts empty,
 * a session whose cwd is gone is dropped, and a corrupt state file is refused, never replaced.
 */
import { until } from '../helpers/wait.js'
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startTabula, tempHome, type RunningTabula } from '../helpers/tabula.js'
import { api, processGone } from './support.js'

const running: RunningTabula[] = []
const dirs: string[] = []

async function start(home: string, ...flags: string[]): Promise<RunningTabula> {
  const t = await startTabula(['daemon', ...flags], { home })
  running.push(t)
  return t
}

function tempDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'tabula-restore-')))
  dirs.push(dir)
  return dir
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.stop()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('restore after a restart', () => {
  it('brings sessions back under the same keys, with the same command, args and cwd', async () => {
    const home = tempHome()
    dirs.push(home)
    const dir = tempDir()
    const sub = join(dir, 'sub')
    mkdirSync(sub)

    const first = await start(home)
    const http = api(first)
    const ws = await http.workspace(dir)
    const tab = (await http.spawn(ws.id, { command: 'sleep', args: ['1000'] })).body.session
    await http.spawn(ws.id, { key: 'hb-watch', command: 'sh', args: ['-c', 'sleep 1000'], cwd: sub })
    await http.spawn(ws.id, { key: ws.id, command: 'sleep', args: ['999'] })
    const before = (await http.sessions(ws.id)).sessions
    expect(await first.stop()).toBe(0)
    // Shutdown ends the PTYs: nothing of the first run survives it.
    for (const s of before) expect(processGone(s.pid)).toBe(true)

    const second = await start(home)
    const after = (await api(second).sessions(ws.id)).sessions
    const shape = (list: typeof before) =>
      list
        .map(({ key, kind, command, args, cwd, status }) => ({ key, kind, command, args, cwd, status }))
        .sort((a, b) => a.key.localeCompare(b.key))
    expect(shape(after)).toEqual(shape(before))
    expect(after.map((s) => s.key)).toContain(tab.key)
    for (const s of after) expect(processGone(s.pid)).toBe(false)
  })

  it('keeps closeOnExit across a restart: the restored session still goes away when its program exits', async () => {
    const home = tempHome()
    dirs.push(home)
    const dir = tempDir()

    const first = await start(home)
    const ws = await api(first).workspace(dir)
    await api(first).spawn(ws.id, { key: 'hb-once', command: 'sleep', args: ['1000'], closeOnExit: true })
    await api(first).spawn(ws.id, { key: 'hb-stays', command: 'sleep', args: ['1000'] })
    await first.stop()
    const manifest = JSON.parse(readFileSync(join(home, 'state.json'), 'utf8')).sessions
    expect(manifest.map((e: { key: string; closeOnExit: boolean }) => [e.key, e.closeOnExit]).sort()).toEqual([
      ['hb-once', true],
      ['hb-stays', false],
    ])

    const second = await start(home)
    const http = api(second)
    const restored = (await http.sessions(ws.id)).sessions
    expect(restored.map((s) => s.key).sort()).toEqual(['hb-once', 'hb-stays'])
    // Its program ends by itself (a signal from outside, as any exit): the key goes, no `exited` tab stays.
    for (const s of restored) process.kill(s.pid, 'SIGTERM')
    await until(
      'the closeOnExit session to be removed',
      async () => !(await http.sessions(ws.id)).sessions.some((s) => s.key === 'hb-once'),
    )
    await until('the other to show its exit', async () =>
      (await http.sessions(ws.id)).sessions.find((s) => s.key === 'hb-stays' && s.status === 'exited'),
    )
  })

  it('starts empty with --no-restore, and drops a session whose cwd is gone', async () => {
    const home = tempHome()
    dirs.push(home)
    const dir = tempDir()
    const doomed = join(dir, 'doomed')
    mkdirSync(doomed)

    const first = await start(home)
    const ws = await api(first).workspace(dir)
    await api(first).spawn(ws.id, { key: 'hb-stays', command: 'sleep', args: ['1000'] })
    await api(first).spawn(ws.id, { key: 'hb-doomed', command: 'sleep', args: ['1000'], cwd: doomed })
    await first.stop()
    rmSync(doomed, { recursive: true })

    const second = await start(home)
    expect((await api(second).sessions(ws.id)).sessions.map((s) => s.key)).toEqual(['hb-stays'])
    expect(second.output()).toMatch(/not restoring session hb-doomed: cwd .*doomed does not exist/)
    await second.stop()

    const third = await start(home, '--no-restore')
    expect((await api(third).sessions(ws.id)).sessions).toEqual([])
    expect((await api(third).call('GET', `/v1/workspaces/${ws.id}`)).status).toBe(200)
  })
})

describe('a state file that is not valid', () => {
  it.each([
    ['truncated JSON', '{"workspaces": [{"id": "x", '],
    ['JSON of the wrong shape', '[1, 2, 3]'],
    ['an empty file', ''],
  ])('refuses to start on %s and leaves the file byte for byte', async (_what, text) => {
    const home = tempHome()
    dirs.push(home)
    const file = join(home, 'state.json')
    writeFileSync(file, text)
    const failure = await startTabula(['daemon'], { home }).then(
      (t) => {
        running.push(t)
        return null
      },
      (err: Error) => err.message,
    )
    expect(failure).toMatch(/exited \(1\)/)
    expect(failure).toContain(file)
    expect(failure).toMatch(/left the file untouched/)
    expect(readFileSync(file, 'utf8')).toBe(text)
  })
})
