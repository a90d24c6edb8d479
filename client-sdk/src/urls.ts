/** Address helpers shared by both channels. */

/** http(s)://host → ws(s)://host, without a trailing slash. */
export function toWebSocketUrl(base: string): string {
  return trimSlash(base.replace(/^http(s?):\/\//i, 'ws$1://'))
}

/** ws(s)://host → http(s)://host, without a trailing slash. */
export function toHttpUrl(base: string): string {
  return trimSlash(base.replace(/^ws(s?):\/\//i, 'http$1://'))
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '')
}
