// The C heap's free pages given back to the system (daemon/src/screen/native-heap.ts; docs/daemon.md,
// "Memory per session"): the addon `npm install` builds loads here, and it gives back what a
// burst of buffers left free in malloc's arenas, which without it stays resident.
import { expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { canReleaseFreeHeap, releaseFreeHeap } from '../../daemon/src/screen/native-heap.js'
import { garbageCollector } from '../../daemon/src/screen/idle-collect.js'

/** Resident kB of the process, as `top` shows it. */
const residentKiB = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1])

/** A burst of 64 KiB buffers (below glibc's mmap threshold: they come from an arena), one in `keepEvery` kept. */
function burst(count: number, keepEvery: number): Buffer[] {
  const kept: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const buffer = Buffer.allocUnsafeSlow(64 * 1024).fill(i & 0xff)
    if (i % keepEvery === 0) kept.push(buffer)
  }
  return kept
}

it('is there: the addon built by npm install loads on this glibc machine', () => {
  expect(canReleaseFreeHeap()).toBe(true)
})

it("gives back a burst's freed buffers that malloc would keep below a live one", () => {
  const gc = garbageCollector()!
  gc()
  releaseFreeHeap()
  const start = residentKiB()
  // 64 MiB of buffers, one in 64 kept: every freed stretch lies below a live buffer, so glibc's
  // own trimming (from the top of the heap only) cannot return it.
  const kept = burst(1024, 64)
  gc()
  gc()
  const idle = residentKiB()
  expect(releaseFreeHeap()).toBe(true)
  const released = residentKiB()
  expect(kept.length).toBe(16)
  // The burst stayed resident after V8's collection (V8 collected during it too, so less than
  // 64 MiB), and most of it went back at the release.
  expect(idle - start).toBeGreaterThan(16 * 1024)
  expect(released - start).toBeLessThan((idle - start) / 2)
})
