/**
 * The banner that says when what is on screen may be out of date: the daemon or the sync server
 * is unreachable, or layout edits made here are waiting to reach the others.
 */
import type { Workspace, WorkspaceStatus } from './sdk.js'
import { h, toUnsubscribe } from './dom.js'

export function statusText(status: WorkspaceStatus): { text: string; tone: 'ok' | 'warn' | 'stale' } | null {
  const down: string[] = []
  if (status.daemon !== 'online') down.push('the daemon')
  if (status.sync !== 'online') down.push('the sync server')
  const waiting = status.pendingEdits ? 'edits made here are waiting to sync' : ''
  if (down.length > 0 || status.stale) {
    const who = down.length ? down.join(' and ') + (down.length > 1 ? ' are' : ' is') + ' unreachable' : 'reconnecting'
    const tail = waiting ? ` ${capitalize(waiting)}; they merge when the connection returns.` : ' Showing the last known tabs.'
    return { text: `Offline: ${who}.${tail}`, tone: 'stale' }
  }
  if (waiting) return { text: `Syncing: ${waiting}.`, tone: 'warn' }
  return null
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}

/** A banner element kept in step with `ws.status`. */
export function createStatusBanner(ws: Workspace): { el: HTMLElement; dispose(): void } {
  const el = h('div.banner', { role: 'status', 'aria-live': 'polite', 'data-testid': 'status-banner', hidden: true })
  const render = () => {
    const state = statusText(ws.status)
    el.hidden = state === null
    el.className = 'banner' + (state ? ` banner-${state.tone}` : '')
    el.textContent = state?.text ?? ''
  }
  render()
  const off = toUnsubscribe(ws.on('status', render))
  return { el, dispose: off }
}
