/**
 * Default titles a person can tell apart (docs/viewers.md, "Tab titles"). A tab without a custom
 * title shows its program's title ("bash"); when several such tabs would show the same one, the
 * second and later, in the order their sessions started, get a number: "bash", "bash 2", "bash 3".
 * The number follows the session, not the tab's place, so it does not change when tabs move. It
 * is only shown, never written into the shared layout: a rename still starts from a clean title,
 * and the program's own title shows again as soon as it differs.
 */
import type { Session, Tab } from './sdk.js'

export function distinctTitles(tabs: readonly Tab[], sessions: readonly Pick<Session, 'key' | 'createdAt'>[]): Tab[] {
  const started = new Map(sessions.map((s) => [s.key, s.createdAt]))
  const byTitle = new Map<string, Tab[]>()
  for (const tab of tabs) {
    if (tab.customTitle !== null) continue
    const same = byTitle.get(tab.title)
    if (same) same.push(tab)
    else byTitle.set(tab.title, [tab])
  }
  const numbered = new Map<string, string>()
  for (const [title, same] of byTitle) {
    if (same.length < 2) continue
    const taken = new Set(tabs.map((t) => t.title))
    const order = [...same].sort(
      (a, b) => String(started.get(a.key) ?? '').localeCompare(String(started.get(b.key) ?? '')) || (a.key < b.key ? -1 : 1),
    )
    let n = 2
    for (const tab of order.slice(1)) {
      while (taken.has(`${title} ${n}`)) n++
      numbered.set(tab.key, `${title} ${n}`)
      taken.add(`${title} ${n}`)
      n++
    }
  }
  return tabs.map((t) => (numbered.has(t.key) ? { ...t, title: numbered.get(t.key)! } : t))
}
