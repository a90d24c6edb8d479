/**
 * How this page gets in and what it may do (docs/viewers.md, "Use it from your phone"): a
 * pairing code exchanged for the device's own token, the scope of that token, following a new
 * link opened in the same tab, and saying which features the page's context lacks.
 */
import { PAIR_PATH, WHOAMI_PATH, type PairResponse, type Principal } from '@tabula/protocol'
import { h } from './dom.js'
import { LINK_PARAMS } from './token.js'

export type PairResult = { ok: true; device: PairResponse } | { ok: false; message: string }

/** `POST /v1/pair`: the code in the link becomes this device's token (once). */
export async function redeemPairing(code: string): Promise<PairResult> {
  try {
    const res = await fetch(PAIR_PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) })
    const body = (await res.json().catch(() => null)) as (PairResponse & { error?: { message: string } }) | null
    if (res.ok && body?.token) return { ok: true, device: body }
    return { ok: false, message: body?.error?.message ?? `the server answered ${res.status}` }
  } catch {
    return { ok: false, message: `the server at ${location.origin} does not answer` }
  }
}

/** Who this page's token is; null when the server cannot say (offline: assume nothing changed). */
export async function whoAmI(token: string): Promise<Principal | null> {
  try {
    const res = await fetch(WHOAMI_PATH, { headers: { authorization: `Bearer ${token}` } })
    return res.ok ? ((await res.json()) as Principal) : null
  } catch {
    return null
  }
}

/** Asked at most this often while the connection is down: is it down, or is the token refused? */
const REJECTION_PROBE_MS = 5_000

/**
 * A revoked device's sockets are cut and every reconnect is refused before the upgrade, which a
 * browser reports as a plain close. So when the connection drops while the network is up, ask
 * over HTTP, which does show the 401/403, and say so instead of "Offline" for ever.
 */
export function noticeRejection(
  ws: { on(event: 'status', listener: () => void): unknown; status: { daemon: string } },
  token: string,
  rejected: () => void,
): void {
  let last = 0
  let done = false
  ws.on('status', () => {
    if (done || ws.status.daemon === 'online' || !navigator.onLine || Date.now() - last < REJECTION_PROBE_MS) return
    last = Date.now()
    fetch(WHOAMI_PATH, { headers: { authorization: `Bearer ${token}` } })
      .then((res) => {
        if ((res.status === 401 || res.status === 403) && !done) {
          done = true
          rejected()
        }
      })
      .catch(() => {}) // unreachable: the banner already says so
  })
}

/**
 * A link opened in a tab that already shows tabula changes only the fragment, which browsers do
 * not reload for: read it again as if the page had just been opened.
 */
export function followNewLinks(): void {
  let last = linkPart(location.hash)
  window.addEventListener('hashchange', () => {
    const now = linkPart(location.hash)
    if (now !== last && now !== '') location.reload()
    last = now
  })
}

function linkPart(hash: string): string {
  const fragment = new URLSearchParams(hash.replace(/^#/, ''))
  return LINK_PARAMS.map((p) => fragment.get(p) ?? '')
    .join('|')
    .replace(/^\|+$/, '')
}

/**
 * Service workers (and so a reload with no connection) exist only in a secure context: https,
 * or loopback. Over plain http from another address the page works, and keeps edits made
 * offline, but cannot open itself without a connection; it says so and how to fix it.
 */
const NOTE_DISMISSED_KEY = 'tabula.insecureNoteDismissed'

export function secureContextNote(): HTMLElement | null {
  if ((window.isSecureContext && 'serviceWorker' in navigator) || sessionStorage.getItem(NOTE_DISMISSED_KEY)) return null
  // On a phone the note costs several lines: it can be put away for this browser session.
  const dismiss = h('button.link.note-dismiss', { 'aria-label': 'Dismiss this note', title: 'Dismiss' }, '×')
  const note = h(
    'div.banner.banner-note',
    { 'data-testid': 'insecure-context', role: 'note' },
    dismiss,
    'Offline reload needs https: this page is served over plain http from ',
    h('code', {}, location.host),
    ', so the browser gives it no service worker. Edits made offline are still kept and merge later, but a reload without a connection will not open. ',
    'Serve tabula with --tls-cert and --tls-key (docs/viewers.md, "Use it from your phone").',
  )
  dismiss.addEventListener('click', () => {
    sessionStorage.setItem(NOTE_DISMISSED_KEY, '1')
    note.remove()
  })
  return note
}

/** Said at the top of a watch-only device's page: edits there are refused by the server. */
export function watchOnlyBadge(principal: Principal | null): HTMLElement | null {
  if (principal?.scope !== 'watch') return null
  return h(
    'span.watch-only',
    { 'data-testid': 'watch-only', title: 'This device was paired with --watch-only: it can look, not type or edit' },
    'Watch only',
  )
}

export function pairingFailedPage(message: string): HTMLElement {
  return h(
    'div.page-card',
    { 'data-testid': 'pairing-failed' },
    h('h1', {}, 'This pairing link did not work'),
    h('p', {}, message),
    h('p', {}, 'On the machine running tabula, run ', h('code', {}, 'tabula pair'), ' again and open the new link (or scan its QR code).'),
  )
}
