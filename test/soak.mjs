#!/usr/bin/env node
// `npm run soak`: the tests that take a soak size (test/helpers/soak.ts), run at that size.
// Runs after a build, like `npm test`; takes about 15 minutes on two cores (docs/testing.md).
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const files = []
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) walk(path)
    else if (entry.name.endsWith('.test.ts') && readFileSync(path, 'utf8').includes('soakable(')) files.push(relative(root, path))
  }
}
walk(join(root, 'test'))
console.log(`soak: ${files.length} test files at their soak size:\n  ${files.join('\n  ')}`)
const run = spawnSync('npx', ['vitest', 'run', ...files, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TABULA_SOAK: '1' },
})
process.exit(run.status ?? 1)
