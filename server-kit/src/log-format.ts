/**
 * Log lines for a person (docs/architecture.md, "Logs"). pino writes one JSON object per line;
 * on a terminal each becomes `12:04:05 WARN  tabula: message  key=value`, with an error's stack
 * below it. Programs (stderr not a terminal, or `TABULA_LOG_FORMAT=json`) get the JSON unchanged.
 */
import { writeSync } from 'node:fs'

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
/** Fields every line carries, shown in the line's own layout rather than as key=value. */
const FRAME = new Set(['level', 'time', 'name', 'msg', 'pid', 'hostname', 'err'])
const COLOURS: Record<string, string> = { WARN: '\x1b[33m', ERROR: '\x1b[31m', FATAL: '\x1b[31m', DEBUG: '\x1b[2m', TRACE: '\x1b[2m' }

export type LogFormat = 'json' | 'pretty'

/** `TABULA_LOG_FORMAT` when set to a known format, else pretty on a terminal and JSON elsewhere. */
export function chooseLogFormat(env: NodeJS.ProcessEnv = process.env, isTTY = process.stderr.isTTY === true): LogFormat {
  const asked = env.TABULA_LOG_FORMAT
  if (asked === 'json' || asked === 'pretty') return asked
  return isTTY ? 'pretty' : 'json'
}

function clock(time: unknown): string {
  const date = typeof time === 'number' ? new Date(time) : new Date()
  return date.toTimeString().slice(0, 8)
}

function show(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)
  return JSON.stringify(value) ?? String(value)
}

/** One pino JSON line as a person reads it; a line that is not JSON is passed through. */
export function formatLogLine(line: string, colour = false): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line.endsWith('\n') ? line : line + '\n'
  }
  const level = LEVELS[entry.level as number] ?? String(entry.level)
  const fields = Object.entries(entry)
    .filter(([k]) => !FRAME.has(k))
    .map(([k, v]) => `${k}=${show(v)}`)
  const tag = colour && COLOURS[level] ? `${COLOURS[level]}${level.padEnd(5)}\x1b[0m` : level.padEnd(5)
  const name = typeof entry.name === 'string' ? `${entry.name}: ` : ''
  let out = `${clock(entry.time)} ${tag} ${name}${String(entry.msg ?? '')}${fields.length ? '  ' + fields.join(' ') : ''}\n`
  const err = entry.err as { stack?: string; message?: string } | undefined
  if (err) out += `    ${(err.stack ?? err.message ?? show(err)).split('\n').join('\n    ')}\n`
  return out
}

/** A pino destination that writes formatted lines to a file descriptor, synchronously (as pino's own). */
export function prettyDestination(fd = 2, colour = true): { write(chunk: string): boolean } {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) writeSync(fd, formatLogLine(line, colour))
      return true
    },
  }
}
