/**
 * A full garbage collection when a thread goes idle after a burst (docs/daemon.md, "Memory per
 * session"). V8 collects when a thread allocates, so a thread that stops after a burst (a
 * screen worker after a flood, the main thread after reading it) keeps its garbage, the young
 * generation the burst grew (up to 16 MiB a thread) and the buffers only a collection frees,
 * for as long as it stays idle, which for an idle daemon is for ever. Here each thread watches
 * its own event loop: once it has been idle for IDLE_CHECKS_BEFORE_COLLECT checks in a row and
 * its heap and buffers grew by IDLE_COLLECT_GROWTH_BYTES since the last collection here, it
 * collects. V8 gives the young generation back only at a collection that comes some seconds
 * after the last burst of allocation (measured: 8 s after, not 7), so while it stays grown the
 * thread collects again every IDLE_FOLLOW_UP_MS when idle, at most IDLE_FOLLOW_UPS times. A busy
 * thread is never collected here, and an idle one that does not grow is not collected again.
 * After each collection the C heap's free pages go back to the system (native-heap.ts): what the
 * collection freed of the burst's buffers would otherwise stay in malloc's arenas.
 */
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { performance } from 'node:perf_hooks'
import { releaseFreeHeap } from './native-heap.js'

/** How often a thread looks at its event loop. */
export const IDLE_CHECK_MS = 1000
/** A check with the event loop busy for less than this share of it counts as idle. */
export const IDLE_UTILIZATION = 0.05
/** Idle checks in a row before a collection. */
export const IDLE_CHECKS_BEFORE_COLLECT = 2
/** Growth of heap and buffers since the last collection that is worth one. */
export const IDLE_COLLECT_GROWTH_BYTES = 4 * 1024 * 1024
/**
 * The young generation V8 starts a thread with (its semi-space minimum on 64-bit). A thread whose
 * young generation grew before it was watched (the main thread, by the daemon's start) would
 * otherwise count that as its size at rest.
 */
export const YOUNG_GENERATION_AT_REST_BYTES = 1024 * 1024
/** While the young generation stays grown after a collection: collections this far apart, at most this many. */
export const IDLE_FOLLOW_UP_MS = 3000
export const IDLE_FOLLOW_UPS = 4

let collector: (() => void) | null | undefined

/**
 * V8's collection as a function. It is exposed by a V8 flag, which holds for the whole process:
 * the main thread sets it before the screen workers start, so they have `gc` from the start; a
 * thread that started before gets it through a new context.
 */
export function garbageCollector(): (() => void) | null {
  if (collector !== undefined) return collector
  try {
    setFlagsFromString('--expose-gc')
    const own = (globalThis as { gc?: () => void }).gc
    collector = typeof own === 'function' ? own : (runInNewContext('gc') as () => void)
  } catch {
    collector = null
  }
  return collector
}

/** What this thread holds that a collection can give back: its heap's pages and its buffers. */
function footprint(): number {
  const heap = getHeapStatistics()
  return heap.total_physical_size + heap.external_memory
}

/** The memory of this thread's young generation. */
function youngGeneration(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.physical_space_size ?? 0
}

export interface IdleCollectOptions {
  /** IDLE_CHECK_MS and IDLE_FOLLOW_UP_MS (tests use shorter ones). */
  checkMs?: number
  followUpMs?: number
  /** What gives freed memory back to the system after a collection (releaseFreeHeap). */
  release?: () => void
}

/** Starts watching this thread (see above) with `collect`; returns the function that stops it. */
export function collectWhenIdle(collect = garbageCollector(), opts: IdleCollectOptions = {}): () => void {
  if (!collect) return () => {}
  const followUpMs = opts.followUpMs ?? IDLE_FOLLOW_UP_MS
  const release = opts.release ?? releaseFreeHeap
  let loop = performance.eventLoopUtilization()
  let idleChecks = 0
  let collected = footprint()
  /** The smallest young generation seen: what it shrinks back to. */
  let smallestYoung = Math.min(youngGeneration(), YOUNG_GENERATION_AT_REST_BYTES)
  let followUps = 0
  let followUpAt = 0
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization()
    const idle = performance.eventLoopUtilization(now, loop).utilization < IDLE_UTILIZATION
    loop = now
    idleChecks = idle ? idleChecks + 1 : 0
    if (idleChecks < IDLE_CHECKS_BEFORE_COLLECT) return
    const grew = footprint() - collected >= IDLE_COLLECT_GROWTH_BYTES
    if (!grew && (followUps === 0 || performance.now() < followUpAt)) return
    collect()
    release()
    collected = footprint()
    const young = youngGeneration()
    smallestYoung = Math.min(smallestYoung, young)
    followUps = young > smallestYoung ? (grew ? IDLE_FOLLOW_UPS : followUps - 1) : 0
    followUpAt = performance.now() + followUpMs
    // The collection's own time does not make the next check busy.
    loop = performance.eventLoopUtilization()
  }, opts.checkMs ?? IDLE_CHECK_MS)
  timer.unref()
  return () => clearInterval(timer)
}
