// Bundles the extension into one CommonJS file, the format VS Code's extension host loads.
// `vscode` is provided by the editor; ws's optional native helpers are left out.
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))

await build({
  entryPoints: [here('./src/extension.ts')],
  outfile: here('./dist/extension.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['vscode', 'bufferutil', 'utf-8-validate'],
  conditions: ['node'],
  // Minified, as VS Code's bundling guide does for a published extension; the source map keeps
  // stack traces readable.
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
})
