// Prints the browser bundle's size, minified and gzipped, with yjs left out (the page shares its
// own copy), and again with lib0 and y-protocols left out too (most Yjs apps already load them).
// `npm run size -w @tabula/client-sdk`; docs/sdk.md quotes its output.
import { build } from 'esbuild'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../src/browser.ts', import.meta.url))

async function measure(external) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    external,
  })
  const bytes = result.outputFiles[0].contents
  return { minified: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length }
}

const kB = (n) => `${(n / 1000).toFixed(1)} kB`
for (const [label, external] of [
  ['without yjs', ['yjs']],
  ['without yjs, lib0, y-protocols', ['yjs', 'lib0', 'lib0/*', 'y-protocols', 'y-protocols/*']],
]) {
  const { minified, gzipped } = await measure(external)
  console.log(`${label.padEnd(32)} minified ${kB(minified).padStart(8)}   gzipped ${kB(gzipped).padStart(8)}`)
}
