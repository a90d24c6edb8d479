import { pino, type Logger } from 'pino'

export type { Logger }

/**
 * One JSON line per event on stderr, so stdout stays for what a person asked a command to print.
 * `TABULA_LOG_LEVEL` sets the level (default `info`; tests use `warn` to keep output short).
 */
export function createLogger(component: string, level = process.env.TABULA_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: component, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }))
}
