/**
 * A full garbage collection when a thread goes idle after a burst (docs/daemon.md, "Memory per
 * session"). V8 collects when a thread allocates, so a thread that stops after a burst (a
 * screen worker after a flood, the main thread after reading it) keeps its garbage, the young
 * generation the burst grew (up to 16 MiB a thread) and the buffers only a collection frees,
 * for as long as it stays idle, which for an idle daemon is for ever. Here each thread watches
 * its own event loop: once it has been idle for IDLE_CHECKS_BEFORE_COLLECT checks in a row and
 * its heap and buffers grew by IDLE_COLLECT_GROWTH_BYTES since the last collection here, it
 * collects, and once more IDLE_FOLLOW_UP_MS later if it stayed idle (V8 gives the young
 * generation back only at a collection that follows a stretch of little allocation). A busy
 * thread is never collected here, and an idle one that does not grow is collected once.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { performance } from 'node:perf_hooks'

/** How often a thread looks at its event loop. */
export const IDLE_CHECK_MS = 1000
/** A check with the event loop busy for less than this share of it counts as idle. */
export const IDLE_UTILIZATION = 0.05
/** Idle checks in a row before a collection. */
export const IDLE_CHECKS_BEFORE_COLLECT = 2
/** Growth of heap and buffers since the last collection that is worth one. */
export const IDLE_COLLECT_GROWTH_BYTES = 4 * 1024 * 1024
/** The second collection of an idle stretch, this long after the first. */
export const IDLE_FOLLOW_UP_MS = 6000

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

export interface IdleCollectOptions {
  /** IDLE_CHECK_MS and IDLE_FOLLOW_UP_MS (tests use shorter ones). */
  checkMs?: number
  followUpMs?: number
}

/** Starts watching this thread (see above) with `collect`; returns the function that stops it. */
export function collectWhenIdle(collect = garbageCollector(), opts: IdleCollectOptions = {}): () => void {
  if (!collect) return () => {}
  const followUpMs = opts.followUpMs ?? IDLE_FOLLOW_UP_MS
  let loop = performance.eventLoopUtilization()
  let idleChecks = 0
  let collected = footprint()
  /** When the follow-up collection of this idle stretch is due (0: none is). */
  let followUpAt = 0
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization()
    const idle = performance.eventLoopUtilization(now, loop).utilization < IDLE_UTILIZATION
    loop = now
    idleChecks = idle ? idleChecks + 1 : 0
    if (!idle) followUpAt = 0
    if (idleChecks < IDLE_CHECKS_BEFORE_COLLECT) return
    const followUp = followUpAt !== 0 && performance.now() >= followUpAt
    if (!followUp && footprint() - collected < IDLE_COLLECT_GROWTH_BYTES) return
    collect()
    collected = footprint()
    followUpAt = followUp ? 0 : performance.now() + followUpMs
    // The collection's own time does not make the next check busy.
    loop = performance.eventLoopUtilization()
  }, opts.checkMs ?? IDLE_CHECK_MS)
  timer.unref()
  return () => clearInterval(timer)
}
