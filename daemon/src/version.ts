import { readFileSync } from 'node:fs'

/** The daemon package's version, as `GET /v1/health` and the live channel's welcome report it. */
export const DAEMON_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version
