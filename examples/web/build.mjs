// Bundles the browser app into dist/public: app.js (ES module), app.css (with xterm's CSS), and
// the static files (index.html, icon). `npm run build` at the root runs this after `tsc -b`.
import { build } from 'esbuild'
import { cpSync, mkdirSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const out = here('./dist/public')

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
cpSync(here('./static'), out, { recursive: true })

await build({
  entryPoints: { app: here('./src/app/main.ts'), 'app-style': here('./src/app/styles.css') },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome110', 'safari16', 'firefox115'],
  // The SDK's package.json maps Node-only modules away under the "browser" condition.
  conditions: ['browser'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  entryNames: '[name]',
})
