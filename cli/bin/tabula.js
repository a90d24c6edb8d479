#!/usr/bin/env node
// Thin launcher so the bin link exists before the first build; the command lives in dist/.
import { main } from '../dist/main.js'
main(process.argv).catch((err) => {
  process.stderr.write(`tabula: ${err?.message ?? err}\n`)
  process.exit(1)
})
