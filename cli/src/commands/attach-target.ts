/**
 * Which session `tabula attach <ref>` means (docs/viewers.md, "Addressing a tab"):
 *
 * - a full key: that session;
 * - a number: the `#` column of `tabula tabs`, the tab's position in the workspace (`--workspace`,
 *   else the current directory's), group by group as every viewer lists them;
 * - anything else: a prefix of exactly one live key, with or without the `tab-` part (`tab-3f9c`
 *   and `3f9c` both work), like git's short commit ids. Two or more matches are an error that
 *   lists them; nothing is guessed.
 */
import type { Session, TabulaClient, WorkspaceView } from '@tabula/client-sdk'
import { findWorkspace, openWorkspace, type Reach } from './tabs.js'

const POSITION = /^[1-9][0-9]{0,5}$/
/** How many candidates an ambiguity error names before it says "and N more". */
const MAX_LISTED = 8

export interface Target {
  ws: WorkspaceView
  key: string
}

/** Does `key` start with `ref`, counting the `tab-` part of a tab key as optional? */
export function keyMatches(key: string, ref: string): boolean {
  return key.startsWith(ref) || (key.startsWith('tab-') && key.slice(4).startsWith(ref))
}

/** The one key `ref` names among `keys`; throws in words when none or several do. */
export function pickKey(keys: readonly string[], ref: string, where: string): string {
  if (keys.includes(ref)) return ref
  const matches = keys.filter((key) => keyMatches(key, ref))
  if (matches.length === 1) return matches[0]!
  if (matches.length === 0) throw new Error(`no session ${ref} ${where} (\`tabula tabs <workspace>\` lists them)`)
  const listed = matches.slice(0, MAX_LISTED).join(', ')
  const more = matches.length > MAX_LISTED ? ` and ${matches.length - MAX_LISTED} more` : ''
  throw new Error(`${ref} is the start of ${matches.length} sessions (${listed}${more}); type more of the key`)
}

export async function resolveTarget(client: TabulaClient, ref: string, workspace: string | undefined, reach: Reach): Promise<Target> {
  if (POSITION.test(ref)) {
    const info = await findWorkspace(client, workspace ?? process.cwd(), reach)
    const ws = await openWorkspace(client, info.id, reach)
    const tab = ws.tabs()[Number(ref) - 1]
    if (!tab) throw new Error(`${info.name} has ${ws.tabs().length} tab(s); there is no #${ref} (\`tabula tabs ${info.path}\` lists them)`)
    return { ws, key: tab.key }
  }
  if (workspace) {
    const info = await findWorkspace(client, workspace, reach)
    const ws = await openWorkspace(client, info.id, reach)
    return {
      ws,
      key: pickKey(
        ws.tabs().map((t) => t.key),
        ref,
        `in ${info.name}`,
      ),
    }
  }
  // Every workspace's sessions, read without opening a view, so that this terminal appears in
  // the presence of the workspace it attaches to only.
  const all = await reach(client.workspaces())
  const lists = await Promise.allSettled(all.map(async (w) => ({ id: w.id, sessions: await client.sessionsIn(w.id) })))
  const owner = new Map<string, string>()
  for (const list of lists) {
    if (list.status === 'fulfilled') for (const s of list.value.sessions as Session[]) owner.set(s.key, list.value.id)
  }
  const key = pickKey([...owner.keys()], ref, 'in any workspace')
  return { ws: await openWorkspace(client, owner.get(key)!, reach), key }
}
