/**
 * Ends the run with one plain line, `N passed, N failed` (and `N skipped` when any were), which
 * any CI log reader understands without knowing vitest's colourful summary. It hooks onFinished
 * because that runs after the default reporter has printed its own summary.
 */
import type { Reporter } from 'vitest/reporters'
import type { RunnerTask, RunnerTestFile } from 'vitest'

export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []): void {
    const count = { passed: 0, failed: 0, skipped: 0 }
    const visit = (task: RunnerTask): void => {
      if (task.type === 'suite') return task.tasks.forEach(visit)
      const state = task.result?.state
      if (state === 'pass') count.passed++
      else if (state === 'fail') count.failed++
      else count.skipped++
    }
    for (const file of files) {
      // A file that failed to load has no tests to count, but it is a failure all the same.
      if (file.result?.state === 'fail' && file.tasks.length === 0) count.failed++
      else file.tasks.forEach(visit)
    }
    count.failed += errors.length
    const skipped = count.skipped ? `, ${count.skipped} skipped` : ''
    process.stdout.write(`\n${count.passed} passed, ${count.failed} failed${skipped}\n`)
  }
}
