/**
 * The screen worker dying (docs/protocol.md §5): every screen fails over to in-process, fresh,
 * so that no snapshot cut stays pending and no PTY stays paused. Runs the real worker of the
 * build (daemon/dist) behind the screen host of the sources.
 */
import { until } from '../helpers/wait.js'
import { afterEach, expect, it, vi } from 'vitest'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Transferable, Worker } from 'node:worker_threads'
import type { WebSocket } from 'ws'
import { decodeOutputFrame, type ServerFrame } from '@tabula/protocol'
import { Attachment } from '../../daemon/src/live/attachment.js'
import { FLOW_HIGH_WATERMARK, Mirror } from '../../daemon/src/live/mirror.js'
import {
  localScreenHost,
  REPLAY_LOG_BYTES,
  workerScreenHost,
  type FromWorker,
  type ScreenHost,
  type ScreenPort,
  type ToWorker,
  type WorkerScreenHost,
} from '../../daemon/src/screen/screen-host.js'
import { Viewer } from '../../daemon/src/live/viewer.js'

const WORKER = fileURLToPath(new URL('../../daemon/dist/screen/screen-worker.js', import.meta.url))
/** The pause after which a quiet screen is checkpointed, shortened (CHECKPOINT_MS is 1 s). */
const TEST_CHECKPOINT_MS = 100

/** How many checkpoints (background cuts the host asked for) `worker` has answered. */
function checkpointsAnswered(worker: Worker): () => number {
  const asked = new Set<number>()
  let answered = 0
  const post = worker.postMessage.bind(worker)
  vi.spyOn(worker, 'postMessage').mockImplementation((message: ToWorker, transfer?: readonly Transferable[]) => {
    if (message.op === 'cut' && message.kind === 'checkpoint') asked.add(message.cut)
    post(message, transfer)
  })
  // After the host's own listener: once counted, the host holds the checkpoint.
  worker.on('message', (message: FromWorker) => {
    if (message.op === 'checkpoint' && asked.delete(message.cut)) answered++
  })
  return () => answered
}

/** A socket that completes every send on the next turn; decodes what the daemon sent. */
function socket() {
  const frames: ServerFrame[] = []
  let output = ''
  const ws = {
    OPEN: 1,
    readyState: 1,
    send(payload: string | Buffer, opts: { binary: boolean }, cb: () => void) {
      if (opts.binary) output += Buffer.from(decodeOutputFrame(payload as Buffer)!.data).toString('latin1')
      else frames.push(JSON.parse(payload as string) as ServerFrame)
      setImmediate(cb)
    },
    close() {},
    terminate() {},
  }
  return {
    ws: ws as unknown as WebSocket,
    frames,
    get output() {
      return output
    },
    attached: () => frames.find((f): f is ServerFrame & { type: 'attached' } => f.type === 'attached'),
  }
}

let host: WorkerScreenHost | null = null
afterEach(async () => {
  vi.restoreAllMocks()
  await host?.close()
  host = null
})

function setup() {
  expect(existsSync(WORKER), `${WORKER} (run npm run build)`).toBe(true)
  // Every byte parsed: with fast-forward the worker would skip most of a flood of plain lines
  // and never fall far enough behind to pause the PTY, which these tests need.
  host = workerScreenHost({ script: WORKER, fastForward: false })
  expect(host.worker).not.toBeNull()
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  const pty = { paused: false, pause: () => void (pty.paused = true), resume: () => void (pty.paused = false) }
  const mirror = new Mirror({ cols: 80, rows: 24, scrollback: 1000, pty, host, onTitle: () => {} })
  const attach = (name: string) => {
    const sock = socket()
    new Attachment(new Viewer(name, sock.ws), 1, 'tab-x', mirror, () => null).start()
    return sock
  }
  return { host, stderr, pty, mirror, attach }
}

const lines = (from: number, count: number) => Buffer.from(Array.from({ length: count }, (_, i) => `line ${from + i}\r\n`).join(''))

it('a worker killed mid-flood with a late attach pending: the attach completes and output resumes', async () => {
  const { host, stderr, pty, mirror, attach } = setup()
  const driver = attach('driver')
  await until('the first attach', () => driver.attached() !== undefined)

  // Flood until flow control pauses the PTY (the worker is then far behind) and the flood has
  // outgrown the replay log, so this screen cannot be rebuilt: how far behind the worker is when
  // the PTY pauses depends on the weight it measures (parse-scheduler.ts), so on the machine.
  let written = 0
  let n = 1
  const flooded = () => pty.paused && written > 3 * REPLAY_LOG_BYTES
  while (!flooded()) {
    expect(written).toBeLessThan(32 * FLOW_HIGH_WATERMARK)
    for (let i = 0; i < 8 && !flooded(); i++, n += 5000) {
      const chunk = lines(n, 5000)
      mirror.write(chunk)
      written += chunk.length
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
  const late = attach('late') // its cut waits behind the backlog in the worker
  expect(late.attached()).toBeUndefined()
  await host.worker!.terminate()

  await until('the late attach to complete', () => late.attached() !== undefined)
  expect(pty.paused).toBe(false)
  expect(mirror.backlog).toBe(0)
  expect(String(stderr.mock.calls.map((c) => c[0]).join(''))).toMatch(/screen worker failed .*scrollback .* lost/)

  // Output resumes, to every viewer and into the (now in-process) screen.
  mirror.write(Buffer.from('after the failure\r\n'))
  await until('output after the failure', () => driver.output.includes('after the failure') && late.output.includes('after the failure'))
  expect(driver.output.length).toBe(written + 'after the failure\r\n'.length) // the driver missed nothing
  expect(late.output).toBe('after the failure\r\n') // the late viewer: fresh snapshot, then live
  const third = attach('third')
  await until('an attach after the failure', () => third.attached() !== undefined)
  expect(third.attached()!.snapshot).toContain('after the failure')

  // Flow control still works: a second flood pauses and resumes the PTY through in-process parsing.
  for (let i = 0; i < 20; i++) mirror.write(lines(i * 20_000, 20_000))
  expect(pty.paused).toBe(true)
  await until('the in-process parser to catch up', () => !pty.paused && mirror.backlog === 0, 20_000)
}, 30_000)

it('an exception in the worker: a pending cut is answered, the screen is rebuilt and writes carry on', async () => {
  const { host, stderr, pty, mirror, attach } = setup()
  mirror.write(Buffer.from('before\r\n'))
  mirror.flush()
  // An 'open' the worker cannot handle throws in its message handler: an uncaught exception.
  host.worker!.postMessage({ op: 'open', id: 1e9, opts: null })
  const late = attach('late')
  await until('the attach to complete', () => late.attached() !== undefined)
  expect(String(stderr.mock.calls.map((c) => c[0]).join(''))).toMatch(/screen worker failed \(it threw/)
  // The session's screen was rebuilt on the fresh worker from what the host kept: nothing lost.
  expect(late.attached()!.snapshot).toContain('before')
  mirror.write(Buffer.from('after\r\n'))
  await until('output after the failure', () => late.output.includes('after'))
  expect(pty.paused).toBe(false)
  expect(mirror.backlog).toBe(0)
})

it('a screen stuck in an endless parse: the watchdog replaces its worker; a session on another worker notices nothing', async () => {
  expect(existsSync(WORKER), `${WORKER} (run npm run build)`).toBe(true)
  const warnings: string[] = []
  host = workerScreenHost({ script: WORKER, workers: 2, stuckMs: 1_000, warn: (m) => warnings.push(m) })
  expect(host.workers).toHaveLength(2)
  const credit = { hostile: 0, other: 0 }
  const open = (name: 'hostile' | 'other') =>
    host!.open({ cols: 80, rows: 24, scrollback: 100 }, { parsed: (n) => (credit[name] += n), title: () => {} }, `tab-${name}`)
  const hostile = open('hostile')
  const other = open('other')
  const cut = (port: typeof hostile) => new Promise<string>((resolve) => port.cut((s) => resolve(s.data)))
  other.write(Buffer.from('other history\r\n'))
  expect(await cut(other)).toContain('other history')

  // Straight to the screen, past the clamp of the mirror: xterm would scroll 2^31-1 times (hours).
  const poison = Buffer.from('before\r\n\x1b[2147483647S')
  hostile.write(poison)
  const hostileCut = cut(hostile)
  // The other session's worker answers at once, while the hostile one's is stuck.
  other.write(Buffer.from('other live\r\n'))
  const meanwhile = await cut(other)
  expect(meanwhile).toContain('other live')
  expect(warnings).toEqual([])

  // The watchdog sees the stuck worker, names the session, and the pending cut is answered fresh.
  const fresh = await hostileCut
  expect(fresh).not.toContain('before')
  expect(warnings.join('\n')).toMatch(/spent over 1 s on the screen of tab-hostile.*replaced.*\(tab-hostile\).*lost/s)
  expect(credit.hostile).toBe(poison.length) // the PTY would not stay paused
  hostile.write(Buffer.from('hostile after\r\n'))
  expect(await cut(hostile)).toContain('hostile after')
  // The other session kept its whole history.
  const after = await cut(other)
  expect(after).toContain('other history')
  expect(after).toContain('other live')
  expect(host.workers).toHaveLength(2)
}, 30_000)

/** Opens named screens on `host`, counting each one's parse credit; cuts return the snapshot text. */
function screensOn(host: ScreenHost, scrollback = 1000) {
  const credit: Record<string, number> = {}
  const open = (name: string) => {
    credit[name] = 0
    return host.open({ cols: 80, rows: 24, scrollback }, { parsed: (n) => (credit[name]! += n), title: () => {} }, `tab-${name}`)
  }
  const cut = (port: ScreenPort) => new Promise<string>((resolve) => port.cut((s) => resolve(s.data)))
  return { credit, open, cut }
}

it('a screen stuck on a worker it shares: only that session is reset; the other keeps its scrollback exactly', async () => {
  expect(existsSync(WORKER), `${WORKER} (run npm run build)`).toBe(true)
  const warnings: string[] = []
  host = workerScreenHost({ script: WORKER, workers: 1, stuckMs: 1_000, checkpointMs: TEST_CHECKPOINT_MS, warn: (m) => warnings.push(m) })
  const worker = host.workers[0]!
  const checkpoints = checkpointsAnswered(worker)
  const { credit, open, cut } = screensOn(host)
  const hostile = open('hostile')
  const other = open('other')
  // The oracle: a plain in-process screen fed the same bytes and resizes.
  const oracle = screensOn(localScreenHost()).open('oracle')
  let sent = 0
  const both = (bytes: string) => {
    sent += Buffer.byteLength(bytes)
    other.write(Buffer.from(bytes))
    oracle.write(Buffer.from(bytes))
  }

  both(Array.from({ length: 300 }, (_, i) => `history ${i}\r\n`).join('')) // scrolls 276 lines into the scrollback
  expect(await cut(other)).toContain('history 0')
  // Quiet (only this screen was written): it is checkpointed, with its history.
  await until('a checkpoint of the quiet screen', () => checkpoints() > 0)
  both('\x1b[1;31msince the checkpoint\x1b[0m\r\n')
  other.resize(100, 30)
  oracle.resize(100, 30)

  // Past the mirror's clamp, straight to the screen: xterm would scroll 2^31-1 times (hours).
  const poison = Buffer.from('before\r\n\x1b[2147483647S')
  hostile.write(poison)
  const hostileCut = cut(hostile)
  both('queued behind the stuck screen\r\n') // waits in the stuck worker's queue
  const otherCut = cut(other)

  const fresh = await hostileCut
  expect(fresh).not.toContain('before')
  expect(host.workers[0]).not.toBe(worker) // the stuck worker was replaced
  const log = warnings.join('\n')
  expect(log).toMatch(/spent over 1 s on the screen of tab-hostile/)
  expect(log).toMatch(/session \(tab-hostile\) is lost/)
  expect(log).toMatch(/\(tab-other\) were rebuilt .* lost nothing/)
  expect(credit.hostile).toBe(poison.length)

  // The other session: its screen and whole scrollback, as a plain screen shows the same stream.
  const rebuilt = await otherCut
  expect(rebuilt).toContain('history 0')
  expect(rebuilt).toContain('queued behind the stuck screen')
  expect(rebuilt).toBe(await cut(oracle))
  both('after the recovery\r\n')
  expect(await cut(other)).toBe(await cut(oracle))
  // Its credit is exact: what it wrote, no more (the replay is not counted twice), no less.
  await until('the credit of the other session', () => credit.other === sent)
  // Whatever credit the worker sent before it answers one more cut has arrived by then.
  await cut(other)
  expect(credit.other).toBe(sent)
}, 30_000)

/** A stream that makes @xterm/headless 6.0.0 throw in eraseInDisplay (found by a fuzz of resizes, alternate screens and erases). */
function throwingStream(port: ScreenPort): number {
  const parts = ['\x1b[S', '\x1b[?1047h\x1bc' + 'x'.repeat(16) + '\x1b[?1049l\x1b[10;53H\x1b[42;53H\x1b[K\x1b[1J']
  port.write(Buffer.from(parts[0]!))
  port.resize(34, 26)
  port.resize(50, 28)
  port.write(Buffer.from(parts[1]!))
  return parts.join('').length
}

it('the stream really makes plain xterm throw (the oracle for the next tests)', async () => {
  const { Terminal } = (await import('@xterm/headless')).default
  const term = new Terminal({ cols: 80, rows: 24, scrollback: 1000, allowProposedApi: true, logLevel: 'off' })
  const write = (s: string) => new Promise<void>((resolve) => term.write(s, resolve))
  const errors: unknown[] = []
  const onError = (err: unknown) => errors.push(err)
  process.on('uncaughtException', onError)
  try {
    await write('\x1b[S')
    term.resize(34, 26)
    term.resize(50, 28)
    // A write that throws never calls back: what is waited for is the error.
    void write('\x1b[?1047h\x1bc' + 'x'.repeat(16) + '\x1b[?1049l\x1b[10;53H\x1b[42;53H\x1b[K\x1b[1J')
    await until('plain xterm to throw', () => errors.length > 0)
  } finally {
    process.off('uncaughtException', onError)
    term.dispose()
  }
  expect(String(errors[0] ?? '')).toMatch(/isWrapped/)
})

for (const where of ['worker', 'in-process'] as const) {
  it(`a screen whose xterm throws (${where}): that session alone starts again, logged; the other and the worker carry on`, async () => {
    const warnings: string[] = []
    const warn = (m: string) => warnings.push(m)
    if (where === 'worker') expect(existsSync(WORKER), `${WORKER} (run npm run build)`).toBe(true)
    const h = where === 'worker' ? (host = workerScreenHost({ script: WORKER, workers: 1, warn })) : localScreenHost({ warn })
    const worker = host?.workers[0]
    const { credit, open, cut } = screensOn(h)
    const broken = open('broken')
    const other = open('other')
    const history = Array.from({ length: 100 }, (_, i) => `kept ${i}\r\n`).join('')
    other.write(Buffer.from(history))
    broken.write(Buffer.from('before\r\n'))
    const sent = 'before\r\n'.length + throwingStream(broken)
    const pending = cut(broken) // asked before the failure is known: answered by the fresh screen

    expect(await pending).not.toContain('before')
    expect(warnings.join('\n')).toMatch(
      /the screen of tab-broken failed \(xterm threw: Cannot set properties of undefined \(setting 'isWrapped'\)\)/,
    )
    await until('the credit of the broken session', () => credit.broken === sent)
    broken.write(Buffer.from('after\r\n'))
    expect(await cut(broken)).toContain('after')
    other.write(Buffer.from('still here\r\n'))
    const kept = await cut(other)
    expect(kept).toContain('kept 0')
    expect(kept).toContain('still here')
    if (where === 'worker') expect(host!.workers[0]).toBe(worker) // the worker was not replaced
    expect(warnings).toHaveLength(1)
  })
}
