/**
 * The web viewer as a phone on the network reaches it, in Debian's Chromium: at a name that is
 * not loopback (Chromium's --host-resolver-rules maps `tabula.test` to 127.0.0.1, and tabula is
 * told with --public-host that the name is its own), over plain http (not a secure context) and
 * over https with a certificate from a CA the test makes and puts into a fresh NSS database,
 * the trust store Chromium reads on Linux. Then pairing, revocation and a watch-only device.
 */
import { until } from '../helpers/wait.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile, execFileSync } from 'node:child_process'
import { request as httpsRequest } from 'node:https'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Session } from '@tabula/protocol'
import { removeHome, startTabula, TABULA_BIN, type RunningTabula } from '../helpers/tabula.js'
import { startWorkspace, TEST_SHELL, type TestWorkspace } from '../helpers/workspace.js'
import { makeTestCertificates, type TestCertificates } from '../helpers/tls.js'
import {
  DESKTOP,
  launchChromium,
  PHONE,
  terminalText,
  viewerUrl,
  watchErrors,
  type Browser,
  type BrowserContext,
  type Page,
} from './browser.js'

const run = promisify(execFile)
const NAME = 'tabula.test'
const errors: string[] = []

let browser: Browser
let certs: TestCertificates
let nssHome: string

const same = (want: string[]) => (got: string[]) => JSON.stringify(got) === JSON.stringify(want)
const desktopTitles = (page: Page) => page.locator('.desktop .tab .tab-title').allInnerTexts()
const phoneTitles = (page: Page) => page.locator('.phone .chips .chip .tab-title').allInnerTexts()
const secureContext = (page: Page) =>
  page.evaluate(() => ({ secure: window.isSecureContext, randomUUID: typeof crypto.randomUUID, sw: 'serviceWorker' in navigator }))

beforeAll(async () => {
  // A fresh trust store holding only the test CA: Chromium on Linux reads $HOME/.pki/nssdb.
  nssHome = mkdtempSync(join(tmpdir(), 'tabula-nss-'))
  const db = join(nssHome, '.pki', 'nssdb')
  mkdirSync(db, { recursive: true })
  for (const tool of ['certutil', 'openssl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`])
    } catch {
      throw new Error(
        `${tool} is not installed; the https browser tests need it. Install it with:\n\n    apt-get install -y libnss3-tools openssl\n`,
      )
    }
  }
  certs = makeTestCertificates([NAME])
  execFileSync('certutil', ['-d', `sql:${db}`, '-N', '--empty-password'])
  execFileSync('certutil', ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', 'tabula test CA', '-i', certs.caCert])
  browser = await launchChromium({ args: [`--host-resolver-rules=MAP ${NAME} 127.0.0.1`], env: { HOME: nssHome } })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  if (nssHome) rmSync(nssHome, { recursive: true, force: true })
  if (certs) rmSync(certs.dir, { recursive: true, force: true })
  if (errors.length) console.warn(errors.join('\n'))
})

async function open(ctx: BrowserContext, url: string, label: string): Promise<Page> {
  const page = await ctx.newPage()
  watchErrors(page, label, errors)
  await page.goto(url)
  return page
}

describe('plain http at a name that is not loopback', () => {
  let setup: TestWorkspace
  let base: string
  let contexts: BrowserContext[] = []

  beforeAll(async () => {
    setup = await startWorkspace({ name: 'lan', titles: ['alpha', 'beta'], args: ['--public-host', NAME] })
    base = `http://${NAME}:${new URL(setup.tabula.url).port}`
  }, 60_000)
  afterAll(async () => {
    for (const ctx of contexts) await ctx.close()
    await setup?.stop()
  })

  // The default renderer (WebGL on a desktop at pixel ratio 1) and the DOM one.
  for (const renderer of ['default', 'dom'] as const) {
    it(`phone and desktop (${renderer} renderer): new tab, split, typing and rename work, and the page says offline reload needs https`, async () => {
      const extra: Record<string, string> = renderer === 'dom' ? { renderer: 'dom' } : {}
      const desktopCtx = await browser.newContext(DESKTOP)
      const phoneCtx = await browser.newContext(PHONE)
      contexts.push(desktopCtx, phoneCtx)
      const desktop = await open(
        desktopCtx,
        viewerUrl(base, setup.tabula.token, { ws: setup.workspaceId, name: `Desk-${renderer}`, ...extra }),
        'http desktop',
      )
      const phone = await open(
        phoneCtx,
        viewerUrl(base, setup.tabula.token, { ws: setup.workspaceId, name: `Pocket-${renderer}`, ...extra }),
        'http phone',
      )
      const start = setup.ws.tabs().map((t) => t.title)
      await until('desktop tabs', () => desktopTitles(desktop), { ok: same(start) })
      await until('phone tabs', () => phoneTitles(phone), { ok: same(start) })

      // Really not a secure context: the API the old code needed is missing here.
      for (const page of [desktop, phone]) {
        expect(await secureContext(page)).toEqual({ secure: false, randomUUID: 'undefined', sw: false })
        const note = page.getByTestId('insecure-context')
        await until('the page says offline reload needs https', () => note.innerText(), {
          ok: (t) => t.includes('Offline reload needs https') && t.includes('--tls-cert'),
        })
      }

      // The note can be put away on the phone, where it costs several lines.
      await phone.getByTestId('insecure-context').getByRole('button', { name: 'Dismiss this note' }).click()
      expect(await phone.getByTestId('insecure-context').count()).toBe(0)

      // New tab from the desktop's "+" (its key is made with getRandomValues).
      const count = setup.ws.tabs().length
      await desktop.getByTestId('new-tab').first().click()
      await until('the new tab reaches the daemon', async () => setup.ws.tabs().length, { ok: (n) => n === count + 1 })
      await until('the phone lists it', () => phoneTitles(phone), { ok: (t) => t.length === count + 1 })
      // New terminal from the phone's sheet.
      await phone.getByTestId('tabs-button').click()
      await phone.getByRole('button', { name: 'New terminal' }).click()
      await until('the phone tab reaches the desktop', () => desktopTitles(desktop), { ok: (t) => t.length === count + 2 })

      // Split: a new group (its node id is made with getRandomValues too).
      await desktop.getByTestId('split-right').first().click()
      await until('two groups', () => desktop.locator('.desktop section.group').count(), { ok: (n) => n === 2 })

      // Typing: the phone (DOM renderer there in both runs) shows the desktop's command and its own.
      const key = setup.keys.alpha!
      await desktop.locator('.desktop .tab', { hasText: 'alpha' }).first().click()
      await phone.locator('.chip', { hasText: 'alpha' }).click()
      const phoneTerm = phone.locator(`.phone [data-term-key="${key}"]`)
      const deskTerm = desktop.locator(`.desktop [data-term-key="${key}"]`).first()
      await deskTerm.click()
      const mark = renderer === 'dom' ? 11 : 22
      await desktop.keyboard.type(`echo desk-$((${mark}*2))`)
      await desktop.keyboard.press('Enter')
      await until('the phone shows the desktop command', () => terminalText(phoneTerm), { ok: (t) => t.includes(`desk-${mark * 2}`) })
      await phoneTerm.locator('.xterm-screen').click()
      await phone.keyboard.type(`echo phone-$((${mark}+1))`)
      await phone.keyboard.press('Enter')
      await until('the phone shows its own command ran', () => terminalText(phoneTerm), { ok: (t) => t.includes(`phone-${mark + 1}`) })
      if (renderer === 'dom')
        await until('and the desktop shows it', () => terminalText(deskTerm), { ok: (t) => t.includes(`phone-${mark + 1}`) })

      // Rename on the phone, seen on the desktop.
      await phone.getByTestId('tabs-button').click()
      const row = phone.locator(`.sheet-row[data-tab-key="${setup.keys.beta}"]`)
      await row.getByTestId('rename').click()
      await row.locator('input.tab-rename').fill(`renamed-${renderer}`)
      await row.locator('input.tab-rename').press('Enter')
      await phone.getByTestId('tabs-button').click()
      await until('the desktop sees the phone rename', () => desktopTitles(desktop), { ok: (t) => t.includes(`renamed-${renderer}`) })

      // Put the workspace back for the next run: one group, the two starting tabs.
      for (const tab of setup.ws.tabs()) if (!Object.values(setup.keys).includes(tab.key)) await setup.ws.close(tab.key)
      await desktop.locator('.desktop section.group').nth(1).getByTestId('close-group').click()
      await until('one group again', () => desktop.locator('.desktop section.group').count(), { ok: (n) => n === 1 })
      await desktopCtx.close()
      await phoneCtx.close()
      contexts = contexts.filter((c) => c !== desktopCtx && c !== phoneCtx)
    }, 120_000)
  }
})

describe('https with a certificate the browser trusts', () => {
  let tabula: RunningTabula
  let base: string
  let workspace: string
  const keys: string[] = []
  const ca = () => readFileSync(certs.caCert)

  /** The daemon's API over https, trusting only the test CA (Node's fetch has no such option). */
  function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        tabula.url + path,
        { method, ca: ca(), headers: { authorization: `Bearer ${tabula.token}`, 'content-type': 'application/json' } },
        (res) => {
          let text = ''
          res.on('data', (d: Buffer) => (text += d.toString()))
          res.on('end', () => resolve({ status: res.statusCode!, json: (text ? JSON.parse(text) : null) as T }))
        },
      )
      req.on('error', reject)
      req.end(body === undefined ? undefined : JSON.stringify(body))
    })
  }
  const sessions = async () => (await api<{ sessions: Session[] }>('GET', `/v1/workspaces/${workspace}/sessions`)).json.sessions

  beforeAll(async () => {
    tabula = await startTabula(['up', '--public-host', NAME, '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey])
    base = `https://${NAME}:${new URL(tabula.url).port}`
    workspace = (await api<{ id: string }>('POST', '/v1/workspaces', { path: tabula.home, name: 'tls' })).json.id
    for (let i = 0; i < 2; i++)
      keys.push(
        (await api<{ session: Session }>('POST', `/v1/workspaces/${workspace}/sessions`, { ...TEST_SHELL, cols: 100, rows: 30 })).json
          .session.key,
      )
  }, 60_000)
  afterAll(async () => {
    await tabula?.stop()
    if (tabula) removeHome(tabula.home)
  })

  it('the service worker registers, and an offline reload keeps the page and its pending edits', async () => {
    const phoneCtx = await browser.newContext(PHONE)
    const desktopCtx = await browser.newContext(DESKTOP)
    try {
      const phone = await open(
        phoneCtx,
        viewerUrl(base, tabula.token, { ws: workspace, name: 'TLS phone', renderer: 'dom' }),
        'https phone',
      )
      const desktop = await open(
        desktopCtx,
        viewerUrl(base, tabula.token, { ws: workspace, name: 'TLS desk', renderer: 'dom' }),
        'https desktop',
      )
      await until('phone tabs', () => phoneTitles(phone), { ok: (t) => t.length === 2 })
      await until('desktop tabs', () => desktopTitles(desktop), { ok: (t) => t.length === 2 })
      expect(await secureContext(phone)).toEqual({ secure: true, randomUUID: 'function', sw: true })
      expect(await phone.getByTestId('insecure-context').count()).toBe(0)
      expect(await phone.evaluate(() => navigator.serviceWorker.ready.then((r) => r.active?.scriptURL))).toBe(`${base}/sw.js`)

      await phoneCtx.setOffline(true)
      const banner = () => phone.getByTestId('status-banner').innerText()
      await until('the phone says it is offline', banner, { ok: (t) => t.startsWith('Offline') })
      await phone.getByTestId('tabs-button').click()
      const row = phone.locator(`.sheet-row[data-tab-key="${keys[1]}"]`)
      await row.getByTestId('rename').click()
      await row.locator('input.tab-rename').fill('offline-edit')
      await row.locator('input.tab-rename').press('Enter')
      await phone.getByTestId('tabs-button').click()
      await until('the rename waits', banner, { ok: (t) => t.includes('waiting to sync') })

      await phone.reload()
      await until('after an offline reload the page shows the workspace with its pending rename', () => phoneTitles(phone), {
        ok: (t) => t.includes('offline-edit'),
      })
      await until('and says it is offline', banner, { ok: (t) => t.startsWith('Offline') })
      expect(await desktopTitles(desktop)).not.toContain('offline-edit')

      await phoneCtx.setOffline(false)
      await until('the desktop gets the rename the reloaded page kept', () => desktopTitles(desktop), {
        ok: (t) => t.includes('offline-edit'),
      })
    } finally {
      await phoneCtx.close()
      await desktopCtx.close()
    }
  }, 90_000)

  it('the link from tabula pair opens a working viewer; revoking it closes its sockets within a second and its token gets 403', async () => {
    const { stdout } = await run(process.execPath, [TABULA_BIN, 'pair', '--name', 'pocket', '--home', tabula.home])
    const link = /(https:\/\/\S+#pair=[0-9a-f]{32})/.exec(stdout)![1]!
    expect(link.startsWith(`${base}/#pair=`)).toBe(true)
    const ctx = await browser.newContext(PHONE)
    try {
      const page = await ctx.newPage()
      watchErrors(page, 'paired phone', errors)
      const sockets: Array<{ url: string; closedAt: number }> = []
      page.on('websocket', (ws) => {
        const entry = { url: ws.url(), closedAt: 0 }
        sockets.push(entry)
        ws.on('close', () => (entry.closedAt = Date.now()))
      })
      await page.goto(link + '&renderer=dom')
      // A first visit shows the picker (no workspace in the link): open the one there is.
      await page.locator(`button.workspace[data-workspace="${workspace}"]`).click()
      await until('the paired phone lists the tabs', () => phoneTitles(page), { ok: (t) => t.length === 2 })
      expect(page.url()).not.toContain('pair=')
      const term = page.locator(`.phone [data-term-key="${keys[0]}"]`)
      await until('the paired phone shows the shell', () => terminalText(term), { ok: (t) => t.includes('$') })
      // The terminal itself: shrunk to fit a wider PTY, it does not fill its pane.
      await term.locator('.xterm-screen').click()
      await page.keyboard.type('echo paired-$((3*3))')
      await page.keyboard.press('Enter')
      await until('the paired phone types and sees the answer', () => terminalText(term), { ok: (t) => t.includes('paired-9') })
      const token = await page.evaluate(() => localStorage.getItem('tabula.deviceToken'))
      expect(token).toMatch(/^tdev_/)
      await until(
        'its live and sync sockets are open',
        async () =>
          sockets
            .filter((s) => !s.closedAt)
            .map((s) => new URL(s.url).pathname.split('/')[1])
            .sort(),
        { ok: (p) => p.includes('v1') && p.includes('sync') },
      )

      const open = sockets.filter((s) => !s.closedAt)
      const startedAt = Date.now()
      await run(process.execPath, [TABULA_BIN, 'devices', 'revoke', 'pocket', '--home', tabula.home])
      const revokedAt = Date.now()
      await until('every socket of the revoked device closes', async () => open.every((s) => s.closedAt > 0), {
        ok: (ok) => ok,
        timeoutMs: 5_000,
      })
      const last = Math.max(...open.map((s) => s.closedAt))
      // Usually before the command has even exited: the server follows the devices file.
      console.log(
        `revocation closed ${open.length} sockets, the last ${last - startedAt} ms after \`tabula devices revoke\` started (${last - revokedAt} ms after it returned)`,
      )
      expect(last - revokedAt).toBeLessThan(1000)
      const status = await page.evaluate(
        (t) => fetch('/v1/workspaces', { headers: { authorization: `Bearer ${t}` } }).then((r) => r.status),
        token,
      )
      expect(status).toBe(403)
      // The open page notices (its reconnects are refused) and says so, without a reload.
      await until('the page says its link is not valid', () => page.getByTestId('bad-token').count(), { ok: (n) => n === 1 })
      expect(await page.evaluate(() => localStorage.getItem('tabula.deviceToken'))).toBeNull()
      await page.reload()
      await until('and after a reload it asks for a link', () => page.getByTestId('no-token').count(), { ok: (n) => n === 1 })
    } finally {
      await ctx.close()
    }
  }, 90_000)

  it('a watch-only device sees output; its typing, resize, spawn and rename are refused and the desktop sees no change', async () => {
    const { stdout } = await run(process.execPath, [TABULA_BIN, 'pair', '--name', 'watcher', '--watch-only', '--home', tabula.home])
    const link = /(https:\/\/\S+#pair=[0-9a-f]{32})/.exec(stdout)![1]!
    const watchCtx = await browser.newContext(PHONE)
    const deskCtx = await browser.newContext(DESKTOP)
    try {
      const desktop = await open(deskCtx, viewerUrl(base, tabula.token, { ws: workspace, name: 'Owner', renderer: 'dom' }), 'owner desktop')
      const watcher = await watchCtx.newPage()
      watchErrors(watcher, 'watcher', errors)
      const refusals: string[] = []
      watcher.on('websocket', (ws) =>
        ws.on('framereceived', ({ payload }) => {
          if (typeof payload === 'string' && payload.includes('"forbidden"')) refusals.push(payload)
        }),
      )
      const consoleLines: string[] = []
      watcher.on('console', (m) => consoleLines.push(m.text()))
      await watcher.goto(`${link}&ws=${workspace}&renderer=dom`)
      await until('the watcher lists the tabs', () => phoneTitles(watcher), { ok: (t) => t.length === 2 })
      await until('the watcher says it only watches', () => watcher.getByTestId('watch-only').innerText(), {
        ok: (t) => t === 'Watch only',
      })
      const before = await desktopTitles(desktop)
      const sizeBefore = (await sessions()).map((s) => [s.key, s.cols, s.rows])

      // Output: the desktop types, the watcher sees it.
      const key = keys[0]!
      const deskTerm = desktop.locator(`.desktop [data-term-key="${key}"]`).first()
      await desktop.locator('.desktop .tab').first().click()
      await watcher.locator('.chip').first().click()
      const watchTerm = watcher.locator(`.phone [data-term-key="${key}"]`)
      await deskTerm.click()
      await desktop.keyboard.type('echo owner-$((5*5))')
      await desktop.keyboard.press('Enter')
      await until('the watcher sees the output', () => terminalText(watchTerm), { ok: (t) => t.includes('owner-25') })

      // Typing: refused by the daemon, and nothing reaches the PTY.
      await watchTerm.locator('.xterm-screen').click()
      await watcher.keyboard.type('echo watcher-typed')
      await watcher.keyboard.press('Enter')
      await until('the daemon refuses the input', async () => refusals.join('\n'), { ok: (t) => t.includes('input is refused') })
      // Resize: Drive asks for the driver role and the phone's size; refused.
      await watcher.getByTestId('drive').click()
      await until('the daemon refuses driving', async () => refusals.join('\n'), { ok: (t) => t.includes('set_active is refused') })
      await desktop.keyboard.type('echo marker-$((6*7))')
      await desktop.keyboard.press('Enter')
      await until('the desktop screen moves on', () => terminalText(deskTerm), { ok: (t) => t.includes('marker-42') })
      expect(await terminalText(deskTerm)).not.toContain('watcher-typed')

      // Spawn: refused over HTTP.
      await watcher.getByTestId('tabs-button').click()
      const spawn = watcher.waitForResponse((r) => r.url().endsWith('/sessions') && r.request().method() === 'POST')
      await watcher.getByRole('button', { name: 'New terminal' }).click()
      expect((await spawn).status()).toBe(403)

      // Rename: the sync server refuses the change and tells the page (the stock provider logs it).
      const row = watcher.locator(`.sheet-row[data-tab-key="${keys[1]}"]`)
      await row.getByTestId('rename').click()
      await row.locator('input.tab-rename').fill('watcher-title')
      await row.locator('input.tab-rename').press('Enter')
      await until('the sync server refuses the rename', async () => consoleLines.join('\n'), { ok: (t) => t.includes('can only watch') })

      // The desktop saw none of it: same tabs, same titles, same sizes, no new session.
      expect(await desktopTitles(desktop)).toEqual(before)
      expect((await sessions()).map((s) => [s.key, s.cols, s.rows])).toEqual(sizeBefore)
      // A fresh owner page, reading the stored layout, agrees.
      const fresh = await open(deskCtx, viewerUrl(base, tabula.token, { ws: workspace, name: 'Fresh', renderer: 'dom' }), 'fresh desktop')
      await until('a fresh page shows the unchanged titles', () => desktopTitles(fresh), { ok: same(before) })
    } finally {
      await watchCtx.close()
      await deskCtx.close()
    }
  }, 90_000)
})
