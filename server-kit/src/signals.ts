/**
 * Runs `shutdown` once on SIGINT or SIGTERM, then exits. A second signal while shutting down
 * exits at once, so a stuck flush never traps a person at their terminal.
 */
export function onShutdownSignals(shutdown: (signal: string) => Promise<void>, log?: (msg: string) => void): void {
  let stopping = false
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130)
    stopping = true
    log?.(`${signal}: shutting down`)
    shutdown(signal).then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`tabula: shutdown failed: ${(err as Error)?.stack ?? err}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
}
