import { pino, type Logger } from 'pino'
import { chooseLogFormat, prettyDestination } from './log-format.js'

export type { Logger }

/**
 * One event per line on stderr, so stdout stays for what a person asked a command to print: human
 * lines on a terminal, JSON lines otherwise or with `TABULA_LOG_FORMAT=json` (log-format.ts).
 * `TABULA_LOG_LEVEL` sets the level (default `info`; tests use `warn` to keep output short).
 */
export function createLogger(component: string, level = process.env.TABULA_LOG_LEVEL ?? 'info'): Logger {
  const options = { name: component, level, base: { pid: process.pid } }
  if (chooseLogFormat() === 'pretty') return pino(options, prettyDestination(2, !process.env.NO_COLOR))
  return pino(options, pino.destination({ fd: 2, sync: true }))
}
