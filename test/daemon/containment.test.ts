/**
 * A session is its program and nothing more (docs/daemon.md "The PTY layer",
 * "Closing"): the program holds no descriptor of the daemon's but its own terminal, and closing
 * the session, or stopping the daemon, ends every process of it, job-control jobs included.
 * Linux only: the tests read /proc.
 */
import { until } from '../helpers/wait.js'
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { removeHome, startTabula, type RunningTabula } from '../helpers/tabula.js'
import { RawViewer } from '../live/helpers.js'
import { api, fdsOf, pidsRunning, processGone } from './support.js'

const linux = process.platform === 'linux'
const running: RunningTabula[] = []
const viewers: RawViewer[] = []
const strays: number[] = []

afterEach(async () => {
  for (const v of viewers.splice(0)) v.close()
  for (const t of running.splice(0)) {
    await t.stop()
    removeHome(t.home)
  }
  for (const pid of strays.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      /* already gone */
    }
  }
})

async function daemon(): Promise<RunningTabula> {
  const t = await startTabula(['daemon', '--no-restore'])
  running.push(t)
  return t
}

/** The program that runs once the session's launch has exec'd into `argv`. */
async function programOf(argv: string[]): Promise<number> {
  return until(`${argv.join(' ')} to run`, () => pidsRunning(...argv)[0])
}

describe.runIf(linux)('containment', () => {
  it("a later session's program holds only its own terminal: no other master, socket or file", async () => {
    const t = await daemon()
    const http = api(t)
    const ws = await http.workspace('/tmp')
    await http.spawn(ws.id, { key: 'hb-first', command: 'sleep', args: ['1101'] })
    await http.spawn(ws.id, { key: 'hb-second', command: 'sleep', args: ['1102'] })
    // A viewer's socket and the state file are open in the daemon too.
    const viewer = await RawViewer.open(t.daemonUrl, t.token)
    viewers.push(viewer)
    await viewer.attach(1, 'hb-first')
    await http.spawn(ws.id, { key: 'hb-third', command: 'sleep', args: ['1103'] })
    const third = await programOf(['sleep', '1103'])

    const daemonFds = [...fdsOf(t.proc.pid!).values()]
    // What there is to leak: the daemon holds both earlier masters and a socket.
    expect(daemonFds.filter((target) => target === '/dev/ptmx').length).toBeGreaterThanOrEqual(3)
    expect(daemonFds.some((target) => target.startsWith('socket:'))).toBe(true)

    const fds = fdsOf(third)
    const tty = fds.get(0)!
    expect(tty).toMatch(/^\/dev\/pts\/\d+$/)
    expect(Object.fromEntries(fds)).toEqual({ 0: tty, 1: tty, 2: tty })
    // And it is the session's own terminal: the one its process's stat names.
    const ttyNr = Number(readFileSync(`/proc/${third}/stat`, 'utf8').split(') ')[1]!.split(' ')[4])
    expect(ttyNr & 0xff).toBe(Number(tty.split('/').pop()) & 0xff)
  })
})

/** A bash with job control in a session, with background jobs of every kind, and their pids. */
async function shellWithJobs(t: RunningTabula, key: string) {
  const http = api(t)
  const ws = await http.workspace('/tmp')
  await http.spawn(ws.id, { key, command: 'bash', args: ['--noprofile', '--norc', '-i'], env: { PS1: '$ ' } })
  const viewer = await RawViewer.open(t.daemonUrl, t.token)
  viewers.push(viewer)
  await viewer.attach(1, key)
  await viewer.waitForScreen(1, '$')
  const type = (line: string) => viewer.send({ type: 'input', ch: 1, data: line + '\r' })
  type('sleep 1201 &')
  type('nohup sleep 1202 >/dev/null 2>&1 &')
  type('(trap "" HUP; exec sleep 1203) &')
  type('sleep 1204 & disown')
  // A stopped job: it never sees SIGHUP unless woken.
  type('sleep 1205')
  await programOf(['sleep', '1205'])
  viewer.send({ type: 'input', ch: 1, data: '\x1a' })
  await viewer.waitForScreen(1, 'Stopped')
  // Left the session on purpose: escapes, as from tmux (docs/daemon.md "Closing").
  type('setsid sleep 1206 &')
  const jobs = []
  for (const n of [1201, 1202, 1203, 1204, 1205]) jobs.push(await programOf(['sleep', String(n)]))
  const escaped = await programOf(['sleep', '1206'])
  strays.push(escaped)
  return { ws, jobs, escaped }
}

describe.runIf(linux)('closing ends the whole session', () => {
  it('DELETE answers once every job of an interactive shell is gone; a setsid escapee stays', async () => {
    const t = await daemon()
    const { ws, jobs, escaped } = await shellWithJobs(t, 'hb-jobs')
    expect(jobs.every((pid) => !processGone(pid))).toBe(true)

    const reply = await api(t).close(ws.id, 'hb-jobs')
    expect(reply.status).toBe(200)
    // At the answer, not eventually.
    expect(jobs.filter((pid) => !processGone(pid))).toEqual([])
    expect(processGone(escaped)).toBe(false)
  })

  it('stopping the daemon ends every job of every session too', async () => {
    const t = await daemon()
    const { jobs } = await shellWithJobs(t, 'hb-jobs')
    expect(await t.stop()).toBe(0)
    expect(jobs.filter((pid) => !processGone(pid))).toEqual([])
  })
})
