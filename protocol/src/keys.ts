/**
 * Canonical session keys (docs/daemon.md, "Sessions and keys"). A key alone says what kind of
 * session it names, so every component can classify a key without asking the daemon.
 */
import { randomUuid } from './uuid.js'

export type SessionKind = 'terminal' | 'chat' | 'heartbeat' | 'inbox'

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'
const NAME = '[A-Za-z0-9._-]{1,64}'

const UUID_RE = new RegExp(`^${UUID}$`)
const KEY_PATTERNS: ReadonlyArray<readonly [RegExp, SessionKind]> = [
  [new RegExp(`^tab-${UUID}$`), 'terminal'],
  [UUID_RE, 'chat'],
  [new RegExp(`^hb-${NAME}$`), 'heartbeat'],
  [new RegExp(`^inbox-${NAME}$`), 'inbox'],
]

/** A lowercase RFC 4122 uuid, as workspace ids and `tab-<uuid>` keys use. */
export function isUuid(value: string): boolean {
  return UUID_RE.test(value)
}

/** The kind a canonical key names, or `null` when the key is not canonical. */
export function kindOfKey(key: string): SessionKind | null {
  for (const [pattern, kind] of KEY_PATTERNS) if (pattern.test(key)) return kind
  return null
}

export function isCanonicalKey(key: string): boolean {
  return kindOfKey(key) !== null
}

/**
 * A chat key is the workspace's own id: at most one per workspace, and only that workspace's.
 * Returns a reason a person can read when `key` cannot live in `workspaceId`, else null.
 */
export function keyProblem(key: string, workspaceId: string): string | null {
  const kind = kindOfKey(key)
  if (kind === null) {
    return `"${key}" is not a session key: use tab-<uuid>, the workspace id, hb-<name> or inbox-<name> (a name is 1 to 64 of letters, digits, ".", "_" and "-")`
  }
  if (kind === 'chat' && key !== workspaceId) {
    return `"${key}" is a chat key, and a workspace's chat key is its own id (${workspaceId})`
  }
  return null
}

/** A fresh terminal key, in any browser context and in Node (see uuid.ts). */
export function newTabKey(): string {
  return `tab-${randomUuid()}`
}
