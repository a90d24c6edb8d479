/** The repository's copies of the shared fixtures are the shared originals, byte for byte. */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { FIXTURES_DIR, SHARED_FIXTURES_DIR } from './helpers/fixtures.js'

const shared = fileURLToPath(SHARED_FIXTURES_DIR)

it.skipIf(!existsSync(shared))('copies every shared fixture unchanged', () => {
  for (const name of readdirSync(shared).filter((n) => n.endsWith('.json'))) {
    expect(readFileSync(new URL(name, FIXTURES_DIR), 'utf8'), name).toBe(readFileSync(new URL(name, SHARED_FIXTURES_DIR), 'utf8'))
  }
})
