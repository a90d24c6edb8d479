import { defineConfig } from 'vitest/config'
import { fileURLToPath } from 'node:url'

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url))

// Tests import the packages' TypeScript sources directly; processes they spawn run the built CLI.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@tabula\/protocol\/validate$/, replacement: src('./protocol/src/validate') },
      { find: /^@tabula\/server-kit$/, replacement: src('./server-kit/src/index.ts') },
      { find: /^@tabula\/protocol$/, replacement: src('./protocol/src/index.ts') },
      { find: /^@tabula\/daemon$/, replacement: src('./daemon/src/index.ts') },
      { find: /^@tabula\/sync-server$/, replacement: src('./sync-server/src/index.ts') },
      { find: /^@tabula\/client-sdk$/, replacement: src('./client-sdk/src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Real PTYs and servers: two cores, so keep parallelism modest and deterministic.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
})
