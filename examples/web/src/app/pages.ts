/** Full-page states: no token, a rejected token, the workspace picker. */
import { h } from './dom.js'
import type { WorkspaceInfo } from './workspaces.js'

export function tokenPage(kind: 'missing' | 'rejected'): HTMLElement {
  const title = kind === 'missing' ? 'This page needs its access link' : 'This access link is not valid'
  const why =
    kind === 'missing'
      ? [
          'tabula only lets in viewers that present its token. The address ',
          h('code', {}, 'tabula up'),
          ' prints carries it after the ',
          h('code', {}, '#'),
          ' sign.',
        ]
      : ['The server refused the token this page was given. It may come from another tabula home, or the token file was replaced.']
  // The address this page was served from: the same server the link has to point at.
  const origin = location.origin
  return h(
    'div.page-card',
    { 'data-testid': kind === 'missing' ? 'no-token' : 'bad-token' },
    h('h1', {}, title),
    h('p', {}, ...why),
    h(
      'p',
      {},
      'Open the address printed by ',
      h('code', {}, 'tabula up'),
      ' (it looks like ',
      h('code', {}, `${origin}/#token=…`),
      '), or build it from the token file:',
    ),
    h('pre', {}, `echo "${origin}/#token=$(cat ~/.tabula/token)"`),
    h(
      'p.muted',
      {},
      'The token file is ',
      h('code', {}, '<home>/token'),
      ': ',
      h('code', {}, '~/.tabula'),
      ' unless tabula was started with ',
      h('code', {}, '--home'),
      ' or ',
      h('code', {}, '$TABULA_HOME'),
      '. For a phone or another device, ',
      h('code', {}, 'tabula pair'),
      ' prints a link (and a QR code) that gives it a token of its own.',
    ),
  )
}

export function unreachablePage(retry: () => void): HTMLElement {
  return h(
    'div.page-card',
    { 'data-testid': 'unreachable' },
    h('h1', {}, 'tabula is not reachable'),
    h(
      'p',
      {},
      'The server behind this page (',
      h('code', {}, location.origin),
      ') does not answer. Is ',
      h('code', {}, 'tabula up'),
      ' still running?',
    ),
    h('button.primary', { onclick: retry }, 'Try again'),
  )
}

export function pickerPage(
  workspaces: WorkspaceInfo[],
  actions: { open(id: string): void; create(path: string): Promise<void>; remove(id: string): Promise<void> },
  /** Why the picker shows instead of a workspace, e.g. the link named one that does not exist. */
  notice?: string,
): HTMLElement {
  const input = h('input', { type: 'text', placeholder: '/path/to/project', 'aria-label': 'Project path', required: true })
  const error = h('p.form-error', { hidden: true })
  const form = h('form.create', {}, input, h('button.primary', { type: 'submit' }, 'Open'))
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const path = input.value.trim()
    if (!path) return
    error.hidden = true
    actions.create(path).catch((err: unknown) => {
      error.hidden = false
      error.textContent = err instanceof Error ? err.message : String(err)
    })
  })
  const listError = h('p.form-error', { hidden: true, 'data-testid': 'picker-error' })
  const row = (w: WorkspaceInfo) => {
    const remove = h(
      'button.icon.danger',
      { title: `Remove ${w.name || w.path}`, 'aria-label': `Remove ${w.name || w.path}`, 'data-testid': 'remove-workspace' },
      '×',
    )
    const li = h(
      'li.workspace-row',
      {},
      h(
        'button.workspace',
        { 'data-workspace': w.id, onclick: () => actions.open(w.id) },
        h('span.ws-name', {}, w.name || w.path),
        h('span.ws-path', {}, w.path),
      ),
      remove,
    )
    remove.addEventListener('click', () => {
      // Removing forgets the workspace and its layout; it never ends sessions (the daemon refuses
      // while there are some, and says so).
      if (!confirm(`Remove the workspace ${w.name || w.path} (${w.path})? Its tabs' layout is forgotten.`)) return
      listError.hidden = true
      actions.remove(w.id).then(
        () => li.remove(),
        (err: unknown) => {
          listError.hidden = false
          listError.textContent = err instanceof Error ? err.message : String(err)
        },
      )
    })
    return li
  }
  return h(
    'div.page-card.picker',
    { 'data-testid': 'picker' },
    notice ? h('p.notice', { role: 'alert', 'data-testid': 'picker-notice' }, notice) : null,
    h('h1', {}, 'Choose a workspace'),
    workspaces.length ? h('ul.workspace-list', {}, ...workspaces.map(row)) : h('p.muted', {}, 'No workspaces yet.'),
    listError,
    h('h2', {}, 'Open a project by path'),
    form,
    error,
  )
}
