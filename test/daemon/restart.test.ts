/**
 * What a restart does (docs/daemon.md "Restore"): after kill -9 of the daemon, a new one ends the
 * programs that outlived it before restoring, so each runs once; a restored session runs the
 * executable it ran before, whatever PATH the new daemon has; and it shows its previous screen,
 * then a line saying the previous process ended, then the new program, after a clean stop and
 * after a crash alike. Linux only: the tests read /proc.
 */
import { until } from '../helpers/wait.js'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startTabula, tempHome, type RunningTabula } from '../helpers/tabula.js'
import { RawViewer } from '../live/helpers.js'
import { api, pidsRunning, processGone } from './support.js'

const running: RunningTabula[] = []
const viewers: RawViewer[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const v of viewers.splice(0)) v.close()
  await Promise.all(running.splice(0).map((t) => t.stop()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function start(home: string, env?: Record<string, string>): Promise<RunningTabula> {
  const t = await startTabula(['daemon'], { home, env })
  running.push(t)
  return t
}

function newHome(): string {
  const home = tempHome()
  dirs.push(home)
  return home
}

function manifest(home: string): { key: string; pid: number | null; started: string | null; file: string | null }[] {
  try {
    return JSON.parse(readFileSync(join(home, 'state.json'), 'utf8')).sessions
  } catch {
    return []
  }
}

/** Kills the daemon as a crash would: no shutdown, nothing flushed. */
async function crash(t: RunningTabula): Promise<void> {
  await t.stop('SIGKILL')
  running.splice(running.indexOf(t), 1)
}

async function screenOf(t: RunningTabula, key: string): Promise<string> {
  const viewer = await RawViewer.open(t.daemonUrl, t.token)
  viewers.push(viewer)
  await viewer.attach(1, key)
  return viewer.screenText(1)
}

/**
 * The restored tab's screen, top to bottom: the old program's line, the marker line, the new
 * program's line (each program prints `line(its pid)`).
 */
async function expectRestored(
  t: RunningTabula,
  key: string,
  program: string[],
  line: (pid: number) => string,
  oldPid: number,
  marker: RegExp,
) {
  const newPid = await until('the new program', () => pidsRunning(...program)[0])
  const viewer = await RawViewer.open(t.daemonUrl, t.token)
  viewers.push(viewer)
  await viewer.attach(1, key)
  const lines = (await viewer.waitForScreen(1, line(newPid))).split('\n')
  const before = lines.findIndex((l) => l.includes(line(oldPid)))
  const at = lines.findIndex((l) => marker.test(l))
  expect(before).toBeGreaterThanOrEqual(0)
  expect(at).toBeGreaterThan(before)
  expect(lines.findIndex((l) => l.includes(line(newPid)))).toBeGreaterThan(at)
}

/** Spawns `sh -c script` under `key` and waits for it to run `program`; its pid. */
async function runProgram(t: RunningTabula, key: string, script: string, program: string[]): Promise<number> {
  const http = api(t)
  const ws = await http.workspace('/tmp')
  await http.spawn(ws.id, { key, command: 'sh', args: ['-c', script] })
  return until('the program', () => pidsRunning(...program)[0])
}

/** A daemon on a fresh home, its API and a workspace: the run before the restart. */
async function firstRun() {
  const home = newHome()
  const first = await start(home)
  const http = api(first)
  return { home, first, http, ws: await http.workspace('/tmp') }
}

describe.runIf(process.platform === 'linux')('restart', () => {
  it('after kill -9, a new daemon ends the surviving program before restoring: one copy runs', async () => {
    const { home, first, http, ws } = await firstRun()
    // A program that ignores the hangup a dying daemon's terminal sends, as nohup'd jobs do.
    await http.spawn(ws.id, { key: 'hb-survivor', command: 'sh', args: ['-c', 'trap "" HUP; exec sleep 7771'] })
    // A shell that dies with the daemon's terminal, leaving a nohup'd job of its session behind.
    const shellPid = (await http.spawn(ws.id, { key: 'hb-shell', command: 'bash', args: ['--noprofile', '--norc', '-i'] })).body.session.pid
    const shell = await RawViewer.open(first.daemonUrl, first.token)
    viewers.push(shell)
    await shell.attach(1, 'hb-shell')
    shell.send({ type: 'input', ch: 1, data: 'nohup sleep 7779 >/dev/null 2>&1 &\r' })
    const old = await until('the program', () => pidsRunning('sleep', '7771')[0])
    const job = await until('the job', () => pidsRunning('sleep', '7779')[0])
    await until('the manifest to record both', () => manifest(home).filter((e) => e.pid && e.started).length === 2)
    await crash(first)
    // They did outlive the daemon; the shell, their session's leader, hung up.
    await until('the shell to hang up', () => processGone(shellPid))
    expect(processGone(old)).toBe(false)
    expect(processGone(job)).toBe(false)

    const second = await start(home)
    const now = pidsRunning('sleep', '7771')
    expect(now).toHaveLength(1)
    expect(now[0]).not.toBe(old)
    expect(processGone(old)).toBe(true)
    expect(processGone(job)).toBe(true)
    expect(second.output()).toMatch(/outlived the previous daemon/)
    expect((await api(second).sessions(ws.id)).sessions.map((s) => s.key).sort()).toEqual(['hb-shell', 'hb-survivor'])

    // And a clean stop of the new daemon leaves none behind.
    await second.stop()
    expect(pidsRunning('sleep', '7771')).toEqual([])
  })

  it('a pid recorded in the manifest that now names another process is left alone', async () => {
    const home = newHome()
    const first = await start(home)
    const ws = await api(first).workspace('/tmp')
    await api(first).spawn(ws.id, { key: 'hb-gone', command: 'sleep', args: ['7772'] })
    await until('the manifest to record the pid', () => manifest(home).find((e) => e.pid))
    await first.stop()
    // Point the row at a live process of someone else (this test runner), with another start time.
    const state = JSON.parse(readFileSync(join(home, 'state.json'), 'utf8'))
    state.sessions[0].pid = process.pid
    writeFileSync(join(home, 'state.json'), JSON.stringify(state))
    await start(home)
    expect(processGone(process.pid)).toBe(false)
  })

  it('restore runs the executable the session ran, not what its command names on the new PATH', async () => {
    const home = newHome()
    const bin = realpathSync(mkdtempSync(join(tmpdir(), 'tabula-path-')))
    dirs.push(bin)
    // Two programs of one name, told apart by what they run.
    for (const [name, seconds] of [
      ['first', '7773'],
      ['second', '7778'],
    ]) {
      mkdirSync(join(bin, name!))
      writeFileSync(join(bin, name!, 'tabula-prog'), `#!/bin/sh\nexec sleep ${seconds}\n`)
      chmodSync(join(bin, name!, 'tabula-prog'), 0o755)
    }
    const path = (dir: string) => `${join(bin, dir)}:${process.env.PATH}`
    const first = await start(home)
    const ws = await api(first).workspace('/tmp')
    const spawned = await api(first).spawn(ws.id, { key: 'hb-prog', command: 'tabula-prog', env: { PATH: path('first') } })
    expect(spawned.status).toBe(201)
    expect(await until('the manifest to record the executable', () => manifest(home).find((e) => e.key === 'hb-prog')?.file)).toBe(
      join(bin, 'first', 'tabula-prog'),
    )
    await first.stop()

    // The new daemon's own PATH finds the other program first.
    const second = await start(home, { PATH: path('second') })
    const session = (await api(second).sessions(ws.id)).sessions.find((s) => s.key === 'hb-prog')!
    expect(session.command).toBe('tabula-prog')
    expect(await until('the restored program', () => pidsRunning('sleep', '7773')[0])).toBe(session.pid)
    expect(pidsRunning('sleep', '7778')).toEqual([])
  })

  it('after a clean stop, the restored tab shows the previous screen, a marker line, then the new program', async () => {
    const { home, first } = await firstRun()
    const oldPid = await runProgram(first, 'hb-screen', 'echo "hello from $$"; exec sleep 7774', ['sleep', '7774'])
    expect(await screenOf(first, 'hb-screen')).toContain(`hello from ${oldPid}`)
    await first.stop()
    expect(existsSync(join(home, 'screens', 'hb-screen.json'))).toBe(true)

    const second = await start(home)
    await expectRestored(
      second,
      'hb-screen',
      ['sleep', '7774'],
      (pid) => `hello from ${pid}`,
      oldPid,
      /── previous process ended \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: tabula stopped ──/,
    )
  })

  it('after kill -9, the restored tab shows the screen saved while it ran, and says the daemon had stopped unexpectedly', async () => {
    const { home, first } = await firstRun()
    const oldPid = await runProgram(first, 'hb-crashed', 'echo "written before the crash by $$"; exec sleep 7775', ['sleep', '7775'])
    // Saved every few seconds while the output changes (SCREEN_SAVE_INTERVAL_MS).
    const file = join(home, 'screens', 'hb-crashed.json')
    await until(
      'the screen to be saved',
      () => existsSync(file) && readFileSync(file, 'utf8').includes(`written before the crash by ${oldPid}`),
    )
    await crash(first)

    const second = await start(home)
    await expectRestored(
      second,
      'hb-crashed',
      ['sleep', '7775'],
      (pid) => `written before the crash by ${pid}`,
      oldPid,
      /── previous process ended (by )?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC(: tabula died|, after tabula died) ──/,
    )
  })

  it('a closed session leaves no screen file; --no-restore forgets them all', async () => {
    const { home, first, http, ws } = await firstRun()
    await http.spawn(ws.id, { key: 'hb-closed', command: 'sh', args: ['-c', 'echo bye; exec sleep 7776'] })
    await http.spawn(ws.id, { key: 'hb-kept', command: 'sh', args: ['-c', 'echo kept; exec sleep 7777'] })
    await until('a save', () => existsSync(join(home, 'screens', 'hb-closed.json')))
    await http.close(ws.id, 'hb-closed')
    await first.stop()
    expect(existsSync(join(home, 'screens', 'hb-closed.json'))).toBe(false)
    expect(existsSync(join(home, 'screens', 'hb-kept.json'))).toBe(true)

    const second = await startTabula(['daemon', '--no-restore'], { home })
    running.push(second)
    expect(existsSync(join(home, 'screens', 'hb-kept.json'))).toBe(false)
  })
})

afterEach(() => {
  // Nothing of these tests may outlive them.
  for (const n of ['7771', '7772', '7773', '7774', '7775', '7776', '7777', '7778', '7779'])
    for (const pid of pidsRunning('sleep', n)) process.kill(pid, 'SIGKILL')
})
