/**
 * Ends the run with one plain line, `N passed, N failed` (and `N skipped` when any were), which
 * any CI log reader understands without knowing vitest's colourful summary. It hooks onFinished
 * because that runs after the default reporter has printed its own summary.
 */
import type { Reporter } from 'vitest/reporters'
import type { RunnerTask, RunnerTestFile } from 'vitest'

interface Count {
  passed: number
  failed: number
  skipped: number
}

/** Counts a task's tests; a file or suite that failed without a failing test (a hook, an import) is one failure. */
function tally(task: RunnerTask, count: Count): void {
  if (task.type !== 'suite') {
    const state = task.result?.state
    if (state === 'pass') count.passed++
    else if (state === 'fail') count.failed++
    else count.skipped++
    return
  }
  const failedBefore = count.failed
  for (const child of task.tasks) tally(child, count)
  if (task.result?.state === 'fail' && count.failed === failedBefore) count.failed++
}

export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []): void {
    const count: Count = { passed: 0, failed: 0, skipped: 0 }
    for (const file of files) tally(file, count)
    count.failed += errors.length
    const skipped = count.skipped ? `, ${count.skipped} skipped` : ''
    process.stdout.write(`\n${count.passed} passed, ${count.failed} failed${skipped}\n`)
  }
}
