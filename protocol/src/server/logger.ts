import { pino, type Logger } from 'pino'

export type { Logger }

/**
 * One JSON line per event on stderr, so stdout stays for what a person asked a command to print.
 * `TABULA_LOG_LEVEL` sets the level (default `info`; tests use `warn` to keep output short).
 *
 * Logging never ends the process: when stderr cannot be written (a log file on a full disk,
 * EPIPE after the reader went away), the destination's error is dropped and the line with it;
 * later lines are tried again, so logging resumes once there is room. Without a listener the
 * error would be an unhandled 'error' event, which kills the daemon and every session, and on a
 * full disk that is exactly when tabula logs that it cannot write its state.
 */
export function createLogger(component: string, level = process.env.TABULA_LOG_LEVEL ?? 'info'): Logger {
  const destination = pino.destination({ fd: 2, sync: true })
  destination.on('error', () => {})
  return pino({ name: component, level, base: { pid: process.pid } }, destination)
}
