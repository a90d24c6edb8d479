/**
 * How `tabula up` serves the web viewer: the page and its assets without a token (a browser
 * cannot send one on a navigation) and with the right content types; nothing else is public.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeHome, startTabula, type RunningTabula } from '../helpers/tabula.js'

let tabula: RunningTabula

beforeAll(async () => {
  tabula = await startTabula(['up'])
})

afterAll(async () => {
  await tabula?.stop()
  if (tabula) removeHome(tabula.home)
})

describe('web viewer assets', () => {
  it('serves the page at / without a token, and never puts the token in it', async () => {
    const res = await fetch(`${tabula.url}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'")
    const html = await res.text()
    expect(html).toContain('<script type="module" src="app.js"></script>')
    expect(html).not.toContain(tabula.token)
  })

  it('serves the bundle and the stylesheet with their types, and answers a revalidation with 304', async () => {
    const js = await fetch(`${tabula.url}/app.js`)
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect((await js.text()).length).toBeGreaterThan(10_000)
    const css = await fetch(`${tabula.url}/app-style.css`)
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(await css.text()).toContain('.xterm')
    const again = await fetch(`${tabula.url}/app.js`, { headers: { 'if-none-match': js.headers.get('etag')! } })
    expect(again.status).toBe(304)
  })

  it('keeps everything else behind the token: unknown paths, the API, other methods', async () => {
    expect((await fetch(`${tabula.url}/nope.js`)).status).toBe(401)
    expect((await fetch(`${tabula.url}/../token`)).status).toBe(401)
    expect((await fetch(`${tabula.url}/%2e%2e/token`)).status).toBe(401)
    expect((await fetch(`${tabula.url}/v1/workspaces`)).status).toBe(401)
    expect((await fetch(`${tabula.url}/`, { method: 'POST' })).status).toBe(401)
    const authed = await fetch(`${tabula.url}/nope.js`, { headers: { authorization: `Bearer ${tabula.token}` } })
    expect(authed.status).toBe(404)
  })

  it('refuses a page from another origin', async () => {
    const res = await fetch(`${tabula.url}/`, { headers: { origin: 'http://evil.example' } })
    expect(res.status).toBe(403)
  })
})
