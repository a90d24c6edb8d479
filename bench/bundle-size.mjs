// Prints the size of the three bundles a browser or an editor loads, as `npm run build` leaves
// them: the SDK's browser bundle, the web viewer's app.js and the VS Code extension. Bytes
// minified (the file as shipped) and gzipped at level 9 (zlib, as a web server would send it).
//
//   node bench/bundle-size.mjs                  this checkout (run `npm run build` first)
//   node bench/bundle-size.mjs --against <ref>  also <ref>, built the same way in a throwaway
//                                               worktree (npm ci, whose prepare builds), side by side
//
// docs/performance.md, "Bundle size", quotes its output. Sizes are deterministic, so unlike the
// timed benchmarks they need no load average and no ratio.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const BUNDLES = {
  'SDK (browser)': 'client-sdk/dist/browser/tabula-sdk.min.js',
  'web viewer app.js': 'examples/web/dist/public/app.js',
  'VS Code extension': 'examples/vscode-extension/dist/extension.cjs',
}

const here = fileURLToPath(new URL('..', import.meta.url))

function measure(root) {
  const sizes = {}
  for (const [name, file] of Object.entries(BUNDLES)) {
    const path = join(root, file)
    if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` in ${root}`)
    const bytes = readFileSync(path)
    sizes[name] = { min: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length }
  }
  return sizes
}

/** Builds `ref` in a worktree of its own (removed afterwards) and measures it. */
function measureRef(ref) {
  const dir = join(mkdtempSync(join(tmpdir(), 'tabula-bundle-')), 'tree')
  const git = (...args) => execFileSync('git', ['-C', here, ...args], { stdio: ['ignore', 'ignore', 'inherit'] })
  git('worktree', 'add', '--detach', dir, ref)
  try {
    execFileSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--silent'], { cwd: dir, stdio: 'inherit' })
    return measure(dir)
  } finally {
    git('worktree', 'remove', '--force', dir)
    rmSync(join(dir, '..'), { recursive: true, force: true })
  }
}

const at = process.argv.indexOf('--against')
const ref = at === -1 ? null : process.argv[at + 1]
if (at !== -1 && !ref) throw new Error('--against needs a git ref')

const now = measure(here)
const then = ref ? measureRef(ref) : null
const n = (v) => v.toLocaleString('en-US').padStart(9)
const delta = (a, b) => `${b - a >= 0 ? '+' : ''}${(b - a).toLocaleString('en-US')}`.padStart(8)
console.log(
  'bundle'.padEnd(20) +
    (then ? `${`${ref} min`.padStart(13)}${'gzip'.padStart(9)}` : '') +
    `${'this min'.padStart(13)}${'gzip'.padStart(9)}` +
    (then ? `${'Δ min'.padStart(9)}${'Δ gzip'.padStart(8)}` : ''),
)
for (const name of Object.keys(BUNDLES)) {
  const b = now[name]
  const a = then?.[name]
  console.log(
    name.padEnd(20) +
      (a ? `${n(a.min).padStart(13)}${n(a.gzip)}` : '') +
      `${n(b.min).padStart(13)}${n(b.gzip)}` +
      (a ? `${delta(a.min, b.min).padStart(9)}${delta(a.gzip, b.gzip)}` : ''),
  )
}
