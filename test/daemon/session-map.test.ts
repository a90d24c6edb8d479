/**
 * The session map as the live channel uses it (daemon/src/sessions/types.ts), in process with
 * real PTYs: change order, seq, output fan-out, exit handling.
 */
import { until } from '../helpers/wait.js'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '@tabula/server-kit'
import { SessionMap, type SpawnSpec } from '../../daemon/src/sessions/map.js'
import type { SessionChange } from '../../daemon/src/sessions/types.js'

const WS = '2a7c0d1e-3f4b-4c5d-8e6f-7a8b9c0d1e2f'
const maps: SessionMap[] = []

function newMap(): SessionMap {
  const map = new SessionMap(createLogger('test', 'silent'))
  maps.push(map)
  return map
}

function spec(key: string, script: string, extra: Partial<SpawnSpec> = {}): SpawnSpec {
  return { key, workspace: WS, command: 'sh', file: '/bin/sh', args: ['-c', script], cwd: '/', cols: 80, rows: 24, ...extra }
}

afterEach(async () => {
  await Promise.all(maps.splice(0).map((m) => m.stopAll()))
})

describe('SessionMap', () => {
  it('emits `added` inside spawn, so a subscriber sees every byte the program writes', async () => {
    const map = newMap()
    const changes: SessionChange[] = []
    let output = ''
    const decoder = new TextDecoder()
    map.onChange((change) => {
      changes.push(change)
      if (change.type === 'added') map.onOutput(change.session.key, (data) => (output += decoder.decode(data, { stream: true })))
    })
    const live = map.spawn(spec('hb-echo', 'printf "first line\\nsecond line"'))
    expect(changes).toEqual([
      // `started` may be null already: this program can be gone before its start time is read.
      {
        type: 'added',
        workspace: WS,
        seq: 1,
        session: live.info(),
        closeOnExit: false,
        process: { file: '/bin/sh', pid: live.info().pid, started: expect.toSatisfy((v) => v === null || typeof v === 'string') },
      },
    ])
    expect(live.info()).toMatchObject({ kind: 'heartbeat', status: 'running', activeViewer: null, title: null })

    await until('the exit', () => changes.find((c) => c.type === 'updated' && c.session.status === 'exited'))
    expect(output).toBe('first line\r\nsecond line')
  })

  it('records exits with their code, and removes closeOnExit sessions', async () => {
    const map = newMap()
    const changes: SessionChange[] = []
    map.onChange((change) => changes.push(change))
    map.spawn(spec('hb-fail', 'exit 7'))
    map.spawn(spec('hb-once', 'exit 0', { closeOnExit: true }))
    await until('both exits', () => changes.length >= 4)
    expect(map.get('hb-fail')?.info()).toMatchObject({ status: 'exited', exitCode: 7 })
    expect(map.get('hb-once')).toBeUndefined()
    expect(changes.find((c) => c.type === 'removed')).toEqual({ type: 'removed', workspace: WS, seq: expect.any(Number), key: 'hb-once' })
    expect(changes.map((c) => c.seq)).toEqual([1, 2, 3, 4])
  })

  it('emits `updated` for a change of title, driver or size, and nothing for a repeat', () => {
    const map = newMap()
    const updates: SessionChange[] = []
    map.spawn(spec('hb-quiet', 'sleep 1000'))
    map.onChange((change) => updates.push(change))
    map.update('hb-quiet', { title: 'vim' })
    map.update('hb-quiet', { title: 'vim' })
    map.update('hb-quiet', { activeViewer: 'viewer-1' })
    map.resize('hb-quiet', 120, 40)
    map.resize('hb-quiet', 120, 40)
    expect(updates.map((u) => u.seq)).toEqual([2, 3, 4])
    expect(map.seq).toBe(4)
    const info = map.get('hb-quiet')!.info()
    expect(info).toMatchObject({ title: 'vim', activeViewer: 'viewer-1', cols: 120, rows: 40 })
    expect([map.get('hb-quiet')!.pty.cols, map.get('hb-quiet')!.pty.rows]).toEqual([120, 40])
  })

  it('delivers output as the bytes the program wrote, on a tty that still edits UTF-8 (IUTF8)', async () => {
    const map = newMap()
    const chunks: Uint8Array[] = []
    let exited = false
    map.onChange((change) => {
      if (change.type === 'added') map.onOutput(change.session.key, (data) => chunks.push(data))
      if (change.type === 'updated' && change.session.status === 'exited') exited = true
    })
    // Not a UTF-8 character on its own: a string decode would have turned it into U+FFFD.
    map.spawn(spec('hb-bytes', 'printf "\\377 é "; stty -a'))
    await until('the exit', () => exited)
    const all = Buffer.concat(chunks)
    expect(chunks.every((chunk) => chunk instanceof Uint8Array)).toBe(true)
    expect([...all.subarray(0, 5)]).toEqual([0xff, 0x20, 0xc3, 0xa9, 0x20])
    // node-pty sets IUTF8 only for utf8 sessions: switching its output to bytes must keep it.
    expect(all.toString('utf8')).toMatch(/(^|[^-])iutf8/)
  })

  it('identifies a running program by its pid and start time', () => {
    const map = newMap()
    const added: SessionChange[] = []
    map.onChange((change) => added.push(change))
    const live = map.spawn(spec('hb-long', 'sleep 1000'))
    const change = added[0] as Extract<SessionChange, { type: 'added' }>
    expect(change.process.pid).toBe(live.info().pid)
    if (process.platform === 'linux') expect(change.process.started).toMatch(/^[0-9a-f-]+:\d+$/)
    else expect(change.process.started).toEqual(expect.any(String))
  })

  it('refuses a second PTY for a live key', () => {
    const map = newMap()
    map.spawn(spec('hb-one', 'sleep 1000'))
    expect(() => map.spawn(spec('hb-one', 'sleep 1000'))).toThrow(/already exists/)
    expect(map.list(WS)).toHaveLength(1)
  })

  it('survives a listener that throws', async () => {
    const map = newMap()
    map.onChange(() => {
      throw new Error('a broken subscriber')
    })
    const seen: string[] = []
    map.onChange((change) => seen.push(change.type))
    map.spawn(spec('hb-a', 'sleep 1000'))
    expect(await map.close('hb-a')).toBe(true)
    expect(seen).toEqual(['added', 'removed'])
  })
})
