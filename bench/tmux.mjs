// tmux as the baseline: a detached session of the given size ingesting a file, timed to a
// `wait-for` signalled after the `cat`. Shared by bench/*.bench.mjs.
//
// Every run gets a server of its own (a fresh socket name): reusing one name right after
// `kill-server` sometimes met the old server still going away ("server exited unexpectedly" at
// the next `new-session`), and a run that fails that way is retried, so that one hiccup of tmux
// does not end a benchmark of several minutes.
import { spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { CLOCK_TICKS, cpuTicks } from './proc.mjs'

const ATTEMPTS = 3
let runs = 0

/** Seconds tmux took to take in `file` at cols×rows (a 5,000-line history, no status line), from `new-session`. */
export function tmuxIngest(file, cols, rows, workDir) {
  return retried(workDir, (tmux) => {
    const start = performance.now()
    tmux.start(cols, rows, `cat ${file}; tmux -S ${tmux.socket} wait-for -S done`)
    tmux.waitDone()
    return (performance.now() - start) / 1000
  })
}

/**
 * The same, timed from a keystroke: the session is started first and waits (`read go`), then the
 * clock runs from `send-keys go Enter` to the signal. This is how the SDK viewer is timed (from its
 * `go` to the end marker), so neither side's time holds the start of a server or a session. Also
 * returns the CPU time spent meanwhile by tmux's server and by the pane's `cat` (`cpuSeconds`).
 */
export function tmuxIngestOnCue(file, cols, rows, workDir) {
  return retried(workDir, (tmux) => {
    // The pane stays (`exec cat`) so that its `cat`'s CPU time can be read after the signal.
    tmux.start(cols, rows, `read go; cat ${file}; tmux -S ${tmux.socket} wait-for -S done; exec cat`)
    const [server, pane] = tmux.query('#{pid} #{pane_pid}').split(' ').map(Number)
    const before = cpuTicks(server, false) + cpuTicks(pane, true)
    const start = performance.now()
    tmux.run(['send-keys', 'go', 'Enter'])
    tmux.waitDone()
    const seconds = (performance.now() - start) / 1000
    const cpuSeconds = (cpuTicks(server, false) + cpuTicks(pane, true) - before) / CLOCK_TICKS
    return { seconds, cpuSeconds }
  })
}

function server(workDir) {
  // A socket path of our own (tmux leaves the file behind after kill-server): removed in kill().
  const socket = join(workDir, `tmux-${process.pid}-${++runs}.sock`)
  const conf = join(workDir, 'tmux.conf')
  writeFileSync(conf, 'set -g history-limit 5000\nset -g status off\n')
  const run = (args) => {
    const done = spawnSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' })
    if (done.status !== 0) throw new Error(`tmux ${args[0]} failed: ${done.stderr || done.status}`)
  }
  return {
    socket,
    run,
    query: (format) => spawnSync('tmux', ['-S', socket, 'display-message', '-p', format], { encoding: 'utf8' }).stdout.trim(),
    start: (cols, rows, command) => run(['-f', conf, 'new-session', '-d', '-x', String(cols), '-y', String(rows), command]),
    waitDone: () => run(['wait-for', 'done']),
    kill: () => {
      spawnSync('tmux', ['-S', socket, 'kill-server'])
      rmSync(socket, { force: true })
    },
  }
}

/** Runs `timed` on a fresh server, again on another if tmux failed; the server is killed after each. */
function retried(workDir, timed) {
  for (let i = 1; ; i++) {
    const tmux = server(workDir)
    try {
      return timed(tmux)
    } catch (err) {
      if (i >= ATTEMPTS) throw err
      console.error(`(tmux hiccup, run again: ${err.message.trim()})`)
    } finally {
      tmux.kill()
    }
  }
}
