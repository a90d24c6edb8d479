#!/usr/bin/env node
// Thin launcher so the bin link exists before the first build; the command lives in dist/.
// `npm install` at the root builds (its `prepare` script), so dist/ is normally there.
import('../dist/main.js').then(
  ({ main }) =>
    main(process.argv).catch((err) => {
      process.stderr.write(`tabula: ${err?.message ?? err}\n`)
      process.exit(1)
    }),
  (err) => {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err?.message).includes('dist/main.js')) throw err
    process.stderr.write('tabula: not built yet; run `npm run build` (or `npm install`) in the tabula clone first\n')
    process.exit(1)
  },
)
