/**
 * Where the page's credentials come from. `tabula up` prints `http://host:port/#token=…`: a URL
 * fragment never reaches a server or a proxy log. The page moves the token into sessionStorage
 * (so a reload keeps working, but a new browser session must be given the link again) and wipes
 * it from the address bar so it is not shared by a screenshot or a copied URL.
 */
const TOKEN_KEY = 'tabula.token'
const WORKSPACE_KEY = 'tabula.workspace'

export interface PageParams {
  token: string | null
  workspace: string | null
}

export function readPageParams(): PageParams {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''))
  const fromUrlToken = fragment.get('token')
  const fromUrlWorkspace = fragment.get('ws')
  if (fromUrlToken) sessionStorage.setItem(TOKEN_KEY, fromUrlToken)
  if (fromUrlWorkspace) sessionStorage.setItem(WORKSPACE_KEY, fromUrlWorkspace)
  if (fromUrlToken || fromUrlWorkspace) {
    // Keep any other fragment parameters (none today), drop the secret.
    fragment.delete('token')
    const rest = fragment.toString()
    history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''))
  }
  return {
    token: sessionStorage.getItem(TOKEN_KEY),
    workspace: sessionStorage.getItem(WORKSPACE_KEY),
  }
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
}
