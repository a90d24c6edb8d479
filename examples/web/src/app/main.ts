/**
 * The web viewer's entry point: find the token, check it, pick a workspace, and show it in the
 * desktop or the phone layout. Everything goes through the SDK.
 */
import type { Principal } from '@tabula/protocol'
import { connect, type Client } from './sdk.js'
import { clear, h, toUnsubscribe } from './dom.js'
import { forgetToken, readPageParams, rememberDeviceToken, rememberWorkspace } from './token.js'
import { followNewLinks, noticeRejection, pairingFailedPage, redeemPairing, secureContextNote, watchOnlyBadge, whoAmI } from './access.js'
import { createWorkspace, knownWorkspaces, listWorkspaces, rememberWorkspaces, removeWorkspace, type WorkspaceInfo } from './workspaces.js'
import { pickerPage, tokenPage, unreachablePage } from './pages.js'
import { ViewerSession } from './session.js'
import { DesktopView } from './desktop.js'
import { PhoneView } from './phone.js'
import { createStatusBanner } from './status-banner.js'
import { offlineAwareWebSocket } from './offline-socket.js'

const root = document.getElementById('app')!
const PHONE_QUERY = '(max-width: 720px)'

function show(...nodes: Node[]): void {
  clear(root)
  for (const node of nodes) root.appendChild(node)
}

function viewerKind(): 'phone' | 'desktop' {
  const forced = new URLSearchParams(location.hash.slice(1)).get('view')
  if (forced === 'phone' || forced === 'desktop') return forced
  return matchMedia(PHONE_QUERY).matches ? 'phone' : 'desktop'
}

/** A name other viewers will recognise: the browser and the OS, unless the person set one. */
function viewerName(): string {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('name')
  if (fromHash) localStorage.setItem('tabula.viewerName', fromHash)
  const saved = localStorage.getItem('tabula.viewerName')
  if (saved) return saved
  const ua = navigator.userAgent
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /Firefox\//.test(ua)
      ? 'Firefox'
      : /Chrom(e|ium)\//.test(ua)
        ? 'Chrome'
        : /Safari\//.test(ua)
          ? 'Safari'
          : 'Browser'
  const os = /iPhone|iPad/.test(ua)
    ? 'iOS'
    : /Android/.test(ua)
      ? 'Android'
      : /Mac OS/.test(ua)
        ? 'macOS'
        : /Windows/.test(ua)
          ? 'Windows'
          : /Linux/.test(ua)
            ? 'Linux'
            : ''
  return os ? `${browser} on ${os}` : browser
}

async function boot(): Promise<void> {
  const params = readPageParams()
  if (params.pairCode) {
    // A pairing link (`tabula pair`): this device gets a token of its own, shown to nobody else.
    const paired = await redeemPairing(params.pairCode)
    if (!paired.ok) return show(pairingFailedPage(paired.message))
    rememberDeviceToken(paired.device.token)
    if (!localStorage.getItem('tabula.viewerName')) localStorage.setItem('tabula.viewerName', paired.device.name)
    params.token = paired.device.token
  }
  if (!params.token) return show(tokenPage('missing'))
  const token = params.token
  const kind = viewerKind()
  // storage: the layout and the last key set live in IndexedDB, so a reload while offline still
  // shows the workspace and keeps edits made offline until they reach the sync server.
  const client = await connect({
    url: location.origin,
    token,
    viewer: { name: viewerName(), kind },
    storage: 'tabula',
    WebSocket: offlineAwareWebSocket(),
  })
  const check = await listWorkspaces(client)
  if (!check.ok && check.reason === 'rejected') {
    await client.close()
    forgetToken()
    return show(tokenPage('rejected'))
  }
  // Unreachable with a workspace already chosen: open it anyway from the SDK's local copy.
  if (!check.ok && !params.workspace) {
    await client.close()
    return show(unreachablePage(() => location.reload()))
  }
  if (check.ok) rememberWorkspaces(check.workspaces)
  const workspaces = check.ok ? check.workspaces : knownWorkspaces()
  const chosen = params.workspace && (!check.ok || workspaces.some((w) => w.id === params.workspace)) ? params.workspace : null
  const principal = check.ok ? await whoAmI(token) : null
  const access: Access = {
    principal,
    token,
    rejected: () => {
      void client.close()
      forgetToken()
      show(tokenPage('rejected'))
    },
  }
  if (chosen) return openWorkspace(client, chosen, workspaces, kind, access)
  // A link (or an edited address) naming a workspace this tabula does not have: say so.
  let notice: string | undefined
  if (params.workspace) {
    notice = `There is no workspace ${params.workspace} on this tabula (removed, or from another home). Choose one below.`
    rememberWorkspace(null)
  }

  show(
    pickerPage(
      workspaces,
      {
        open: (id) => openWorkspace(client, id, workspaces, kind, access),
        create: async (path) => {
          const ws = await createWorkspace(client, path)
          openWorkspace(client, ws.id, [...workspaces, ws], kind, access)
        },
        remove: (id) => removeWorkspace(client, id),
      },
      notice,
    ),
  )
}

/**
 * xterm's WebGL renderer only where it has been seen to draw: at a pixel ratio of 1. At 2 or 3
 * (phones, HiDPI desktops) xterm 6's WebGL output came out blank or at twice its size in our
 * tests, while the DOM renderer draws correctly everywhere and is fast enough for a few terminals.
 * `#renderer=webgl` or `#renderer=dom` overrides the choice.
 */
function useDomRenderer(kind: 'phone' | 'desktop'): boolean {
  const forced = new URLSearchParams(location.hash.slice(1)).get('renderer')
  if (forced === 'dom' || forced === 'webgl') return forced === 'dom'
  return kind === 'phone' || window.devicePixelRatio !== 1
}

/** Who this page is, and what to do when the server stops accepting its token (a revoked device). */
interface Access {
  principal: Principal | null
  token: string
  rejected(): void
}

function openWorkspace(client: Client, id: string, workspaces: WorkspaceInfo[], kind: 'phone' | 'desktop', access: Access): void {
  rememberWorkspace(id)
  const info = workspaces.find((w) => w.id === id)
  const ws = client.workspace(id)
  noticeRejection(ws, access.token, access.rejected)
  const session = new ViewerSession(client, ws, id, {
    autoDrive: kind === 'desktop',
    shrinkToFit: kind === 'phone',
    fontSize: kind === 'phone' ? 12 : 13,
    domRenderer: useDomRenderer(kind),
  })
  const banner = createStatusBanner(ws)
  // "N viewers" opens a list of who they are (a tooltip alone is out of reach on a phone).
  const viewerList = h('ul.viewer-list', { hidden: true, 'data-testid': 'viewer-list', id: 'viewer-list' })
  const viewers = h('button.viewers', { 'data-testid': 'viewers', 'aria-expanded': 'false', 'aria-controls': 'viewer-list' })
  const setListOpen = (open: boolean) => {
    viewerList.hidden = !open
    viewers.setAttribute('aria-expanded', String(open))
  }
  viewers.addEventListener('click', (e) => {
    e.stopPropagation()
    setListOpen(viewerList.hidden)
  })
  document.addEventListener('click', (e) => {
    if (!viewerList.hidden && !viewerList.contains(e.target as Node)) setListOpen(false)
  })
  document.addEventListener('keydown', (e) => e.key === 'Escape' && setListOpen(false))
  const renderViewers = () => {
    const others = session.others()
    viewers.textContent = others.length ? `${others.length + 1} viewers` : 'only you'
    viewers.title = others.length ? 'Show who is looking' : 'Nobody else is looking at this workspace'
    viewers.disabled = others.length === 0
    if (!others.length) setListOpen(false)
    viewerList.replaceChildren(
      h('li', {}, 'You ', h('span.kind', {}, '(this viewer)')),
      ...others.map((p) => h('li', {}, p.viewer.name, ' ', h('span.kind', {}, `(${p.viewer.kind})`))),
    )
  }
  toUnsubscribe(ws.on('presence', renderViewers))
  renderViewers()
  const header = h(
    'header.topbar',
    {},
    h('span.brand', {}, 'tabula'),
    h('span.ws-title', { title: info?.path ?? id }, info?.name || info?.path || id.slice(0, 8)),
    watchOnlyBadge(access.principal),
    h('div.viewers-wrap', {}, viewers, viewerList),
    h(
      'button.link.switch',
      {
        onclick: () => {
          rememberWorkspace(null)
          location.reload()
        },
      },
      'Workspaces',
    ),
  )
  const loading = h('div.loading', {}, 'Loading tabs…')
  document.body.dataset.view = kind
  show(...[header, banner.el, secureContextNote(), loading].filter((n): n is HTMLElement => n !== null))
  ws.ready.then(() => {
    loading.replaceWith((kind === 'phone' ? new PhoneView(session) : new DesktopView(session)).el)
  })
}

// Lets a reload work offline (see static/sw.js). Only where service workers exist: a secure
// context (https, or loopback); elsewhere the page says what is missing (access.ts).
if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => {})
followNewLinks()

boot().catch((err: unknown) => {
  show(
    h(
      'div.page-card',
      {},
      h('h1', {}, 'Something went wrong'),
      h('pre', {}, err instanceof Error ? (err.stack ?? err.message) : String(err)),
    ),
  )
})
