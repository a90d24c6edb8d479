// tmux as the baseline: a detached session of the given size ingesting a file, timed from
// `new-session` to a `wait-for` signalled after the `cat`. Shared by bench/*.bench.mjs.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'

/** Seconds tmux took to take in `file` at cols×rows (a 5,000-line history, no status line). */
export function tmuxIngest(file, cols, rows, workDir) {
  const socket = `tabula-bench-${process.pid}`
  const conf = join(workDir, 'tmux.conf')
  writeFileSync(conf, 'set -g history-limit 5000\nset -g status off\n')
  const start = performance.now()
  const created = spawnSync('tmux', ['-L', socket, '-f', conf, 'new-session', '-d', '-x', String(cols), '-y', String(rows), `cat ${file}; tmux -L ${socket} wait-for -S done`])
  if (created.status !== 0) throw new Error('tmux failed: ' + created.stderr)
  spawnSync('tmux', ['-L', socket, 'wait-for', 'done'])
  const seconds = (performance.now() - start) / 1000
  spawnSync('tmux', ['-L', socket, 'kill-server'])
  return seconds
}
