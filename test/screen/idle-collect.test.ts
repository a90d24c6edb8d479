// The idle collection of a thread (daemon/src/screen/idle-collect.ts; docs/daemon.md, "Memory
// per session"): when it runs, when it does not, and that the collection it uses is V8's own.
import { afterEach, expect, it, vi } from 'vitest'
import { Worker } from 'node:worker_threads'
import { getHeapStatistics } from 'node:v8'
import { until } from '../helpers/wait.js'
import { getHeapSpaceStatistics } from 'node:v8'
import { collectWhenIdle, garbageCollector, IDLE_COLLECT_GROWTH_BYTES, IDLE_FOLLOW_UPS } from '../../daemon/src/screen/idle-collect.js'

let stop: (() => void) | null = null
afterEach(() => {
  stop?.()
  stop = null
})

const FAST = { checkMs: 50, followUpMs: 400 }
/** Memory a test grows by, kept to the end: freed by a collection in a later test, it would shrink that test's thread. */
const kept: Uint8Array[] = []
const grow = () => kept.push(new Uint8Array(4 * IDLE_COLLECT_GROWTH_BYTES).fill(1))

it('a thread that grew and went idle is collected once, and no more while it does not grow', async () => {
  const collect = vi.fn()
  stop = collectWhenIdle(collect, FAST)
  await new Promise((resolve) => setTimeout(resolve, 300))
  expect(collect).not.toHaveBeenCalled() // idle, but it did not grow
  grow()
  await until('the collection', () => collect.mock.calls.length >= 1)
  // Once, unless its young generation happened to grow too (then a few follow-ups, next test):
  // time for all of them, then none more.
  await new Promise((resolve) => setTimeout(resolve, (IDLE_FOLLOW_UPS + 2) * FAST.followUpMs))
  expect(collect.mock.calls.length).toBeLessThanOrEqual(1 + IDLE_FOLLOW_UPS)
  const calls = collect.mock.calls.length
  await new Promise((resolve) => setTimeout(resolve, 20 * FAST.checkMs))
  expect(collect).toHaveBeenCalledTimes(calls)
})

const youngGeneration = () => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')!.physical_space_size

it('each collection is followed by giving the freed heap back (native-heap.ts)', async () => {
  const order: string[] = []
  stop = collectWhenIdle(() => order.push('collect'), { ...FAST, release: () => order.push('release') })
  grow()
  await until('the collection', () => order.length >= 2)
  expect(order.slice(0, 2)).toEqual(['collect', 'release'])
})

it('while its young generation stays grown, an idle thread is collected again, a few times at most', async () => {
  const collect = vi.fn() // collects nothing: the young generation stays as grown as it is
  stop = collectWhenIdle(collect, FAST)
  const young = youngGeneration()
  // Short-lived strings with some survivors, the way a parse allocates: V8 grows the young generation.
  const survivors: string[][] = []
  for (let round = 0; round < 3000 && youngGeneration() <= young; round++) {
    const rows = Array.from({ length: 2000 }, (_, i) => `row ${round} ${i}`)
    if (round % 10 === 0) survivors.push(rows.slice(0, 50))
  }
  expect(youngGeneration()).toBeGreaterThan(young)
  grow() // enough growth for the first collection
  await until('the collection and its follow-ups', () => collect.mock.calls.length >= 1 + IDLE_FOLLOW_UPS)
  await new Promise((resolve) => setTimeout(resolve, 3 * FAST.followUpMs))
  expect(collect).toHaveBeenCalledTimes(1 + IDLE_FOLLOW_UPS)
  expect(survivors.length).toBeGreaterThan(0)
})

it('a busy thread is not collected; it is once it goes idle', async () => {
  const collect = vi.fn()
  stop = collectWhenIdle(collect, FAST)
  grow()
  // Busy for most of every check: 40 ms of work in every 50.
  const busyUntil = performance.now() + 20 * FAST.checkMs
  while (performance.now() < busyUntil) {
    const end = performance.now() + 40
    while (performance.now() < end);
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  expect(collect).not.toHaveBeenCalled()
  await until('the collection once idle', () => collect.mock.calls.length >= 1)
})

it("the collection is V8's: it frees garbage, and a worker started afterwards has it too", async () => {
  const collect = garbageCollector()
  expect(collect).toBeTypeOf('function')
  collect!()
  const before = getHeapStatistics().used_heap_size
  let garbage: string[] | null = Array.from({ length: 200_000 }, (_, i) => `garbage ${i} `.repeat(4))
  expect(garbage.length).toBe(200_000)
  const grown = getHeapStatistics().used_heap_size
  expect(grown - before).toBeGreaterThan(20 * 1024 * 1024)
  garbage = null
  collect!()
  expect(getHeapStatistics().used_heap_size - before).toBeLessThan((grown - before) / 4)

  const worker = new Worker("require('node:worker_threads').parentPort.postMessage(typeof globalThis.gc)", { eval: true })
  const seen = await new Promise((resolve) => worker.once('message', resolve))
  await worker.terminate()
  expect(seen).toBe('function')
})
