/**
 * Where the page's credentials come from. `tabula up` prints `http://host:port/#token=…`: a URL
 * fragment never reaches a server or a proxy log. The page moves the token into sessionStorage
 * (so a reload keeps working, but a new browser session must be given the link again) and wipes
 * it from the address bar so it is not shared by a screenshot or a copied URL.
 */
const TOKEN_KEY = 'tabula.token'
/**
 * A paired device's own token (from `tabula pair`) lives in localStorage instead: the pairing
 * link opens once, so the device must keep its token across browser sessions. It can be ended
 * from the server at any time (`tabula devices revoke`), which the root token cannot.
 */
const DEVICE_TOKEN_KEY = 'tabula.deviceToken'
const WORKSPACE_KEY = 'tabula.workspace'

export interface PageParams {
  token: string | null
  workspace: string | null
  /** A one-time pairing code (`#pair=…`) still to be exchanged for a device token. */
  pairCode: string | null
}

/** The fragment parameters that make a new link: a change to any of them reloads the page. */
export const LINK_PARAMS = ['token', 'pair', 'ws'] as const

export function readPageParams(): PageParams {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''))
  const fromUrlToken = fragment.get('token')
  const fromUrlWorkspace = fragment.get('ws')
  const pairCode = fragment.get('pair')
  if (fromUrlToken) sessionStorage.setItem(TOKEN_KEY, fromUrlToken)
  if (fromUrlWorkspace) sessionStorage.setItem(WORKSPACE_KEY, fromUrlWorkspace)
  if (fromUrlToken || fromUrlWorkspace || pairCode) {
    // Keep the other fragment parameters, drop the secrets.
    fragment.delete('token')
    fragment.delete('pair')
    const rest = fragment.toString()
    history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''))
  }
  return {
    token: sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(DEVICE_TOKEN_KEY),
    workspace: sessionStorage.getItem(WORKSPACE_KEY),
    pairCode,
  }
}

export function rememberDeviceToken(token: string): void {
  sessionStorage.removeItem(TOKEN_KEY)
  localStorage.setItem(DEVICE_TOKEN_KEY, token)
}

export function rememberWorkspace(id: string | null): void {
  if (id) sessionStorage.setItem(WORKSPACE_KEY, id)
  else sessionStorage.removeItem(WORKSPACE_KEY)
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''))
  if (id) fragment.set('ws', id)
  else fragment.delete('ws')
  const rest = fragment.toString()
  history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''))
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY)
  localStorage.removeItem(DEVICE_TOKEN_KEY)
}
