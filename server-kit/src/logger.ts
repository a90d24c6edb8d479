import { pino, type Logger } from 'pino'
import { chooseLogFormat, prettyDestination } from './log-format.js'

export type { Logger }

/**
 * One event per line on stderr, so stdout stays for what a person asked a command to print: human
 * lines on a terminal, JSON lines otherwise or with `TABULA_LOG_FORMAT=json` (log-format.ts).
 * `TABULA_LOG_LEVEL` sets the level (default `info`; tests use `warn` to keep output short).
 *
 * Logging never ends the process: when stderr cannot be written (a log file on a full disk,
 * EPIPE after the reader went away), the destination's error is dropped and the line with it;
 * later lines are tried again, so logging resumes once there is room. Without a listener the
 * error would be an unhandled 'error' event, which kills the daemon and every session, and on a
 * full disk that is exactly when tabula logs that it cannot write its state.
 */
export function createLogger(component: string, level = process.env.TABULA_LOG_LEVEL ?? 'info'): Logger {
  const options = { name: component, level, base: { pid: process.pid } }
  if (chooseLogFormat() === 'pretty') return pino(options, neverThrows(prettyDestination(2, !process.env.NO_COLOR)))
  const destination = pino.destination({ fd: 2, sync: true })
  destination.on('error', () => {})
  return pino(options, destination)
}

/** A destination whose failed writes (ENOSPC, EPIPE) drop the line instead of throwing into the caller. */
function neverThrows(destination: { write(chunk: string): boolean }): { write(chunk: string): boolean } {
  return {
    write(chunk) {
      try {
        return destination.write(chunk)
      } catch {
        return true
      }
    },
  }
}
