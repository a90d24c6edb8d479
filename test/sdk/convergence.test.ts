/**
 * I6 and I2 (docs/architecture.md, "Invariants") under concurrency: random moves, renames, spawns,
 * closes, group edits, partitions and reconnects on 3 to 8 viewers, each pruning with the real
 * Pruner on a logical clock, then a full heal. Every run must end with every viewer showing the
 * same tabs, exactly the daemon's keys, each once, with no custom title or placement lost except by
 * a prune the viewer that made it could justify (the key absent from its live set, while online,
 * for the whole grace).
 *
 * `npm test` runs a fixed set of seeds; `npm run soak` runs 3,000, and TABULA_SIM_SEED=n
 * replays one.
 */
import { soakable } from '../helpers/soak.js'
import { describe, expect, it } from 'vitest'
import { runSimulation } from './sim/simulation.js'

const seedCount = soakable(300, 3_000)
const onlySeed = process.env.TABULA_SIM_SEED
/** Seeds run with each faulty pruner; enough that some run shows the fault. */
const FAULTY_PRUNER_SEEDS = 5
const seeds = onlySeed !== undefined ? [Number(onlySeed)] : Array.from({ length: seedCount }, (_, i) => i + 1)

describe('convergence simulation', () => {
  it(`converges for ${seeds.length} seeds`, { timeout: Math.max(60_000, seeds.length * 2_000) }, () => {
    const failures: string[] = []
    const totals: Record<string, number> = {}
    for (const seed of seeds) {
      const result = runSimulation(seed)
      for (const [k, v] of Object.entries(result.stats)) totals[k] = (totals[k] ?? 0) + v
      if (result.problems.length) failures.push(`seed ${seed} (${result.replicas} replicas):\n${result.problems.join('\n')}`)
    }
    // The generator must actually exercise what the checks are about.
    for (const op of ['move', 'rename', 'spawn', 'close', 'external', 'group', 'sync-partition', 'daemon-partition', 'idle', 'prune']) {
      expect(totals[op] ?? 0, `operation ${op} never ran`).toBeGreaterThan(0)
    }
    expect(failures, failures.slice(0, 3).join('\n\n')).toEqual([])
  })

  it('catches the titles schema 2 lost when two replicas create one entry (the checks can fail)', () => {
    const failing = Array.from({ length: 20 }, (_, i) => runSimulation(i + 1, { schema2Titles: true })).filter((r) =>
      r.problems.some((p) => p.includes('custom title')),
    )
    expect(failing.length).toBeGreaterThan(0)
  })

  it('catches a pruner that does not wait out the grace, or counts absence seen offline (the checks can fail)', () => {
    for (const faultyPruner of ['early', 'ignores-offline'] as const) {
      const runs = Array.from({ length: FAULTY_PRUNER_SEEDS }, (_, i) => runSimulation(i + 1, { faultyPruner }))
      // The outcome checks themselves (a shown tab lost its placement or title), not only the
      // reference tracker's verdict on each prune.
      const lost = runs.filter((r) => r.problems.some((p) => p.includes('lost its placement') || p.includes('custom title')))
      expect(lost.length, `${faultyPruner}: no run showed a lost placement or title`).toBeGreaterThan(0)
      expect(runs.filter((r) => r.problems.some((p) => p.includes(' pruned '))).length).toBeGreaterThan(0)
    }
  })
})
