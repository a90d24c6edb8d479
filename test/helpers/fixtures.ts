/**
 * The shared fixtures, kept in the repository so a clone tests on its own. The originals live in
 * the project's shared/ folder beside the repository; fixtures.test.ts fails if a copy drifts
 * from an original that is present.
 */
import { readFileSync } from 'node:fs'

export const FIXTURES_DIR = new URL('../fixtures/', import.meta.url)
export const SHARED_FIXTURES_DIR = new URL('../../../shared/fixtures/', import.meta.url)

export function readFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES_DIR), 'utf8')) as T
}

/** shared/fixtures/k2so-layout-v1.json: a real corrupted v1 row and the live sessions beside it. */
export interface K2soFixture {
  workspace: { id: string; path: string; name: string }
  workspace_layouts_row: { project_id: string; workspace_id: string | null; layout_json: string; path?: string }
  daemon_sessions: Array<{ key: string; command: string; note: string }>
  expected: {
    migrated_keys_in_order: string[]
    migration_log: string
    titles: Record<string, string>
    sdk_tabs_in_order: string[]
  }
}

export const readK2soFixture = (): K2soFixture => readFixture<K2soFixture>('k2so-layout-v1.json')
