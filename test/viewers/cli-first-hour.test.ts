/**
 * The first steps a new user takes with the `tabula` command, with real processes: the command
 * on PATH outside the clone, a launcher that says when it is not built, `spawn --help`'s example,
 * the log lines of `tabula up` on a terminal and off one, and `import-layouts` with a bad row.
 */
import { until } from '../helpers/wait.js'
import { afterAll, describe, expect, it } from 'vitest'
import { execFile, spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { spawn as spawnPty } from 'node-pty'
import { TABULA_BIN, removeHome, startTabula, tempHome } from '../helpers/tabula.js'

const run = promisify(execFile)
const CLI_DIR = dirname(dirname(TABULA_BIN))
const scratch = mkdtempSync(join(tmpdir(), 'tabula-first-hour-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe('the tabula command outside the clone', () => {
  it('`npm install -g ./cli` puts a working `tabula` on PATH (the README way)', async () => {
    const prefix = join(scratch, 'global')
    await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', CLI_DIR])
    const elsewhere = join(scratch, 'elsewhere')
    mkdirSync(elsewhere)
    const env = { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` }
    const { stdout } = await run('tabula', ['--help'], { cwd: elsewhere, env })
    expect(stdout).toContain('Usage: tabula')
    expect(stdout).toContain('attach')
  })

  it('an unbuilt launcher says what to run instead of a module stack trace', () => {
    const copy = join(scratch, 'unbuilt', 'bin')
    mkdirSync(copy, { recursive: true })
    cpSync(TABULA_BIN, join(copy, 'tabula.js'))
    const result = spawnSync(process.execPath, [join(copy, 'tabula.js'), '--help'], { encoding: 'utf8' })
    expect(result.status).toBe(1)
    expect(result.stderr).toBe('tabula: not built yet; run `npm run build` (or `npm install`) in the tabula clone first\n')
  })
})

describe('tabula spawn --help', () => {
  it('shows an example that passes --watch to the script, not to npm', async () => {
    const { stdout } = await run(process.execPath, [TABULA_BIN, 'spawn', '--help'])
    expect(stdout).toContain('tabula spawn --key hb-build -- npm run build -- --watch')
  })
})

describe('the log lines of tabula up', () => {
  it('are for people on a terminal, JSON when stderr is not one or when TABULA_LOG_FORMAT=json', async () => {
    const home = tempHome()
    try {
      // On a terminal (a real pseudo-terminal).
      const lines = await upOnPty(home, {})
      expect(lines).toMatch(/^\d\d:\d\d:\d\d INFO {2}tabula: SIGTERM: shutting down/m)
      expect(lines).not.toMatch(/^\{"level"/m)
      // Asked for JSON on a terminal.
      const json = await upOnPty(home, { TABULA_LOG_FORMAT: 'json' })
      expect(json).toMatch(/^\{"level":30,.*"msg":"SIGTERM: shutting down"\}/m)
      // Not a terminal: JSON, one object per line.
      const piped = await startTabula(['up'], { home, env: { TABULA_LOG_LEVEL: 'info' } })
      await piped.stop()
      const logged = piped
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
      expect(logged.length).toBeGreaterThan(0)
      for (const line of logged) expect(JSON.parse(line)).toHaveProperty('msg')
    } finally {
      removeHome(home)
    }
  })
})

/** Runs `tabula up` in a pseudo-terminal until it is ready, stops it, and returns what it printed. */
function upOnPty(home: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const pty = spawnPty(process.execPath, [TABULA_BIN, 'up', '--port', '0', '--home', home], {
      cols: 120,
      rows: 30,
      env: { ...process.env, TABULA_LOG_LEVEL: 'info', NO_COLOR: '1', ...env } as Record<string, string>,
    })
    let out = ''
    const timer = setTimeout(() => (pty.kill('SIGKILL'), reject(new Error(`tabula up did not start:\n${out}`))), 20_000)
    pty.onData((d) => {
      out += d
      if (out.includes('Stop with Ctrl-C.') && !out.includes('\u0000sent')) {
        out += '\u0000sent'
        pty.kill('SIGTERM')
      }
    })
    pty.onExit(() => {
      clearTimeout(timer)
      resolve(out.replace('\u0000sent', '').replace(/\r\n/g, '\n'))
    })
  })
}

describe('tabula import-layouts with a row it cannot use', () => {
  it('exits non-zero, says so, and keeps the skipped row out of the state', () => {
    const home = tempHome()
    try {
      const good = {
        project_id: '3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a',
        workspace_id: null,
        path: '/tmp/x',
        layout_json: JSON.stringify({ tabs: [] }),
      }
      const unusable = { project_id: 'not-a-uuid', workspace_id: null, path: '/tmp/y', layout_json: JSON.stringify({ tabs: [] }) }
      const badJson = { ...good, project_id: '4d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0b', layout_json: '{nope' }
      const file = join(home, 'rows.json')
      writeFileSync(file, JSON.stringify([good, unusable, badJson]))
      const result = spawnSync(process.execPath, [TABULA_BIN, 'import-layouts', file, '--home', home], {
        encoding: 'utf8',
        env: { ...process.env, TABULA_LOG_LEVEL: 'warn' },
      })
      expect(result.status).toBe(1)
      expect(result.stdout).toContain('not-a-uuid: not a workspace id')
      expect(result.stderr).toContain('2 row(s) skipped (see above); the others were imported')
      const state = JSON.parse(readFileSync(join(home, 'state.json'), 'utf8')) as { workspace_layouts: Array<{ project_id: string }> }
      expect(state.workspace_layouts.map((r) => r.project_id)).toEqual([good.project_id])
    } finally {
      removeHome(home)
    }
  })
})

describe('tabula rm, and a mistyped workspace path', () => {
  it('refuses a path that is not a directory, removes an idle workspace, and refuses a busy one unless told to close its sessions', async () => {
    const tabula = await startTabula(['up'])
    // --home before the rest: after `--`, it would be the spawned command's argument.
    const cli = (command: string, ...args: string[]) =>
      run(process.execPath, [TABULA_BIN, command, '--home', tabula.home, ...args]).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      )
    try {
      const typo = await cli('spawn', '--workspace', '/no/such/place', '--', 'true')
      expect(typo.code).toBe(1)
      expect(typo.stderr).toContain('there is no directory /no/such/place')
      expect((await cli('ls', '--json')).stdout).not.toContain('/no/such/place')

      const idle = join(tabula.home, 'idle')
      const busy = join(tabula.home, 'busy')
      mkdirSync(idle)
      mkdirSync(busy)
      await cli('spawn', '--workspace', idle, '--close-on-exit', '--', 'true')
      await cli('spawn', '--workspace', busy, '--key', 'hb-keep', '--', 'sleep', '1000')
      // The idle one's only session closed itself on exit.
      await until('tabula ls to stop listing the closed tab', async () => !(await cli('ls', idle)).stdout.includes('tab-'), 20_000)
      const removed = await cli('rm', idle)
      expect(removed.code).toBe(0)
      expect(removed.stdout).toBe(`removed workspace idle (${idle})\n`)
      const refused = await cli('rm', busy)
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain('still has 1 session(s); close them first')
      expect((await cli('ls', busy)).stdout).toContain('hb-keep')
      const forced = await cli('rm', busy, '--close-sessions')
      expect(forced.stdout).toBe(`closed hb-keep\nremoved workspace busy (${busy})\n`)
      const list = (await cli('ls', '--json')).stdout
      expect(list).not.toContain(idle)
      expect(list).not.toContain(busy)
      expect((await cli('rm', busy)).stderr).toContain(`no workspace at ${busy}`)
    } finally {
      await tabula.stop()
      removeHome(tabula.home)
    }
  })
})
