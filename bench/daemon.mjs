// The built daemon, started through the real CLI (`tabula daemon`) on a temporary home, for
// benchmarks that talk to it as a viewer would. Shared by bench/*.bench.mjs.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rssOf } from './proc.mjs'

const TABULA = join(fileURLToPath(new URL('..', import.meta.url)), 'cli/bin/tabula.js')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

export { rssOf }

/** `extra`: more daemon flags; sessions are spawned at `size` unless the body says otherwise. */
export async function startDaemon(extra = [], size = { cols: 200, rows: 50 }) {
  const home = mkdtempSync(join(tmpdir(), 'tabula-bench-home-'))
  const proc = spawn(process.execPath, [TABULA, 'daemon', '--port', '0', '--home', home, '--no-restore', ...extra], {
    env: { ...process.env, TABULA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  // A benchmark that fails part-way must not leave its daemon running.
  const orphaned = () => proc.exitCode === null && proc.kill('SIGTERM')
  process.once('exit', orphaned)
  for (let i = 0; ; i++) {
    try {
      const runtime = JSON.parse(readFileSync(join(home, 'runtime.json'), 'utf8'))
      if (runtime.pid === proc.pid) {
        const token = readFileSync(join(home, 'token'), 'utf8').trim()
        const url = runtime.daemonUrl ?? runtime.url
        // One retry: under load a kept-alive connection the daemon already closed can be reused.
        const request = (path, body, method) =>
          fetch(url + path, {
            method,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: body && JSON.stringify(body),
          }).then((r) => r.json())
        const api = (path, body, method = body ? 'POST' : 'GET') =>
          request(path, body, method).catch(() => sleep(100).then(() => request(path, body, method)))
        const workspace = (await api('/v1/workspaces', { path: home })).id
        return {
          proc,
          url,
          token,
          workspace,
          spawn: async (body) => (await api(`/v1/workspaces/${workspace}/sessions`, { ...size, ...body })).session,
          close: (key) => api(`/v1/workspaces/${workspace}/sessions/${key}`, undefined, 'DELETE'),
          rss: () => rssOf(proc.pid),
          async stop() {
            proc.kill('SIGTERM')
            await new Promise((r) => proc.once('exit', r))
            rmSync(home, { recursive: true, force: true })
          },
        }
      }
    } catch {}
    if (i > 400) throw new Error('the daemon did not start')
    await sleep(25)
  }
}
