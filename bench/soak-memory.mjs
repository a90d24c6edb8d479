// Loaded into every thread of the daemon under bench/soak.bench.mjs (NODE_OPTIONS=--import, which
// worker threads inherit): each thread writes what its own V8 heap and buffers hold to
// SOAK_MEMORY_DIR every SAMPLE_MS, so the benchmark can break the daemon's RSS down at its peak
// (main heap, each screen worker's heap, array buffers). Measurement only; the daemon is unchanged.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { getHeapStatistics } from 'node:v8'
import { isMainThread, threadId } from 'node:worker_threads'

const SAMPLE_MS = 100
const dir = process.env.SOAK_MEMORY_DIR
if (dir) {
  const file = join(dir, `${process.pid}-${threadId}.json`)
  // SOAK_MEMORY_GC=1: a full collection before each sample (diagnostic: live data against garbage).
  const gc = process.env.SOAK_MEMORY_GC
    ? ((await import('node:v8')).setFlagsFromString('--expose-gc') ?? (await import('node:vm')).runInNewContext('gc'))
    : null
  let collected = 0
  const sample = () => {
    if (gc && performance.now() - collected > 2000) {
      gc()
      collected = performance.now()
    }
    const heap = getHeapStatistics()
    const usage = process.memoryUsage()
    const row = {
      thread: isMainThread ? 'main' : `worker ${threadId}`,
      heapUsed: heap.used_heap_size,
      heapTotal: heap.total_heap_size,
      heapCommitted: heap.total_physical_size,
      external: usage.external,
      arrayBuffers: usage.arrayBuffers,
    }
    try {
      writeFileSync(file, JSON.stringify(row))
    } catch {}
  }
  setInterval(sample, SAMPLE_MS).unref()
}
