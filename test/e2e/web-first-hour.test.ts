/**
 * What a new user ran into in the web viewer's first hour, each checked in Debian's Chromium
 * against a real `tabula up`: desktop items on the default renderer (WebGL at a pixel ratio of 1)
 * and on the DOM one, phone gestures with touch events at 375×812.
 */
import { until } from '../helpers/wait.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import type { WorkspaceView } from '@tabula/client-sdk'
import type { RunningTabula } from '../helpers/tabula.js'
import { TEST_SHELL, startWorkspace, type TestWorkspace } from '../helpers/workspace.js'
import { DESKTOP, launchChromium, PHONE, terminalText, viewerUrl, watchErrors, type Browser, type Page } from './browser.js'

let setup: TestWorkspace
let tabula: RunningTabula
let browser: Browser
const errors: string[] = []

beforeAll(async () => {
  browser = await launchChromium()
  setup = await startWorkspace({ name: 'first-hour', titles: [] })
  tabula = setup.tabula
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await setup?.stop()
  if (errors.length) console.warn(errors.join('\n'))
})

/** A fresh workspace in its own directory, seen by the test's SDK client. */
async function freshWorkspace(name: string): Promise<{ ws: WorkspaceView; id: string; dir: string }> {
  const dir = join(tabula.home, name)
  mkdirSync(dir, { recursive: true })
  const id = (await setup.sdk.ensureWorkspace({ path: dir, name })).id
  const ws = setup.sdk.workspace(id)
  await ws.ready
  return { ws, id, dir }
}

async function openDesktop(id: string, renderer: string | null, name = 'Desk', context = DESKTOP): Promise<Page> {
  const ctx = await browser.newContext(context)
  const page = await ctx.newPage()
  watchErrors(page, name, errors)
  await page.goto(viewerUrl(tabula.url, tabula.token, { ws: id, name, ...(renderer ? { renderer } : {}) }))
  await page.locator('.desktop, .phone').first().waitFor()
  return page
}

const titlesOf = (page: Page) => page.locator('.desktop .tab .tab-title').allInnerTexts()

describe.each([
  ['the default renderer', null],
  ['the DOM renderer', 'dom'],
] as const)('desktop, on %s', (_label, renderer) => {
  let ws: WorkspaceView
  let id: string
  let page: Page
  let dir: string

  beforeAll(async () => {
    ;({ ws, id, dir } = await freshWorkspace(`desk-${renderer ?? 'default'}`))
    page = await openDesktop(id, renderer)
  })
  afterAll(() => page?.context().close())

  it('draws with the renderer it says (WebGL by default at a pixel ratio of 1)', async () => {
    const key = await ws.spawn({ ...TEST_SHELL, title: 'shell' })
    await page.locator('.desktop .tab', { hasText: 'shell' }).click()
    const want = renderer === 'dom' ? 'dom' : 'webgl'
    await until(`the ${want} renderer`, () => page.locator(`[data-term-key="${key}"]`).getAttribute('data-renderer'), {
      ok: (r) => r === want,
    })
  })

  it("an exited tab's Restart and Close tab take a real click (nothing lies over them)", async () => {
    // Exits the first time; after a restart it stays up.
    const flag = join(dir, 'restarted-once')
    const key = await ws.spawn({
      command: 'sh',
      args: ['-c', `if [ -e ${flag} ]; then exec sleep 1000; fi; touch ${flag}; exit 3`],
      title: 'flaky',
    })
    await page.locator('.desktop .tab', { hasText: 'flaky' }).click()
    const exited = page.locator('.desktop [data-testid="exited"]')
    await until('the exit code shows', () => exited.innerText(), { ok: (t) => t.includes('exited with code 3') })
    // A real click at the button's centre: playwright refuses when another element receives it.
    await exited.getByRole('button', { name: 'Restart' }).click({ timeout: 5000 })
    await until('restarted, and running', async () => ws.sessions().find((s) => s.key === key)?.status, { ok: (s) => s === 'running' })
    await until('the overlay goes', () => exited.count(), { ok: (n) => n === 0 })

    const gone = await ws.spawn({ command: 'sh', args: ['-c', 'exit 4'], title: 'ended' })
    await page.locator('.desktop .tab', { hasText: 'ended' }).click()
    await until('the exit code shows', () => exited.innerText(), { ok: (t) => t.includes('exited with code 4') })
    await exited.getByRole('button', { name: 'Close tab' }).click({ timeout: 5000 })
    // An exited tab closes without a question: nothing runs in it any more.
    await until('the tab is gone', async () => ws.tabs().some((t) => t.key === gone), { ok: (present) => !present })
    await ws.close(key)
  })

  it('asks before closing a running tab (×, Delete, Alt+Shift+W); Cancel and Escape keep it', async () => {
    const key = await ws.spawn({ ...TEST_SHELL, title: 'precious' })
    const tab = page.locator('.desktop .tab', { hasText: 'precious' })
    await tab.click()
    await tab.locator('.tab-close').click()
    const dialog = page.getByTestId('close-dialog')
    await expect(dialog.isVisible()).resolves.toBe(true)
    expect(await dialog.innerText()).toContain('Close “precious”?')
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await until('the dialog closes', () => dialog.count(), { ok: (n) => n === 0 })
    await tab.focus()
    await page.keyboard.press('Delete')
    await dialog.waitFor()
    await page.keyboard.press('Escape')
    await until('Escape closes the dialog', () => dialog.count(), { ok: (n) => n === 0 })
    expect(ws.tabs().some((t) => t.key === key)).toBe(true)
    await page.keyboard.press('Alt+Shift+KeyW')
    await dialog.waitFor()
    await dialog.getByRole('button', { name: 'Close tab' }).click()
    await until('closed after the yes', async () => ws.tabs().some((t) => t.key === key), { ok: (present) => !present })
    await until('gone from the page', () => titlesOf(page), { ok: (t) => !t.includes('precious') })
  })

  it('gives new tabs titles that tell them apart, and starts their shell in the workspace directory', async () => {
    const before = ws.tabs().length
    const known = new Set(ws.tabs().map((t) => t.key))
    await page.getByTestId('new-tab').first().click()
    await until('one new tab', async () => ws.tabs().length, { ok: (n) => n === before + 1 })
    await page.getByTestId('new-tab').first().click()
    await until('two new tabs', async () => ws.tabs().length, { ok: (n) => n === before + 2 })
    const titles = await until('the new tabs show', () => titlesOf(page), { ok: (t) => t.length === before + 2 })
    expect(new Set(titles).size).toBe(titles.length)
    const fresh = titles.slice(-2)
    expect(fresh[1]).toBe(`${fresh[0]} 2`)
    // The new shell starts in the workspace's directory (what a person would type to check).
    const out = join(dir, `pwd-${renderer ?? 'default'}.txt`)
    // As a person would: type once the second new tab is selected and its terminal has the focus.
    const second = await page.locator('.desktop .tab', { hasText: fresh[1]! }).getAttribute('data-tab-key')
    expect(known.has(second!)).toBe(false)
    const focusedKey = () =>
      page.evaluate(() => (document.activeElement?.closest('[data-term-key]') as HTMLElement | null)?.dataset.termKey ?? null)
    await until('the second new tab has the focus', focusedKey, { ok: (k) => k === second })
    await page.keyboard.type(`pwd > ${out}\n`)
    await until('the shell wrote its directory', async () => (existsSync(out) ? readFileSync(out, 'utf8').trim() : ''), {
      ok: (t) => t === dir,
    })
  })

  it('a narrow split pane wraps its footer; "Drive from here" stays inside the window and works', async () => {
    const key = await ws.spawn({ ...TEST_SHELL, title: 'narrow' })
    await page.locator('.desktop .tab', { hasText: 'narrow' }).click()
    // Split the tab's own group three times: it ends up an eighth of the window wide.
    const own = page.locator('.desktop section.group', { has: page.locator('.tab', { hasText: 'narrow' }) })
    for (let i = 0; i < 3; i++) await own.getByTestId('split-right').click()
    await until('four groups', () => page.locator('.desktop section.group').count(), { ok: (n) => n === 4 })
    // Another viewer takes the size: the footer offers "Drive from here".
    const other = ws.attach(key)
    await new Promise<void>((resolve) => other.onData(() => resolve()))
    other.resize(90, 20)
    other.setActive(true)
    const pane = page.locator(`.desktop .pane-body[data-active-key="${key}"]`)
    const drive = pane.getByTestId('drive-here')
    await drive.waitFor()
    const paneBox = (await pane.boundingBox())!
    const box = (await drive.boundingBox())!
    expect(paneBox.width).toBeLessThan(300)
    expect(box.x).toBeGreaterThanOrEqual(paneBox.x)
    expect(box.x + box.width).toBeLessThanOrEqual(paneBox.x + paneBox.width + 0.5)
    expect(box.y + box.height).toBeLessThanOrEqual(DESKTOP.viewport.height)
    await drive.click({ timeout: 5000 })
    await until('this viewer drives', () => pane.getByTestId('driver').innerText(), { ok: (t) => t.includes('this viewer sets the size') })
    // The footer's text wraps inside the pane rather than running out of it.
    expect(await pane.getByTestId('pane-footer').evaluate((el) => el.scrollWidth <= el.clientWidth + 1)).toBe(true)
    other.dispose()
  })
})

describe('workspaces in the web viewer', () => {
  it('a mistyped path gets a clear error; a workspace can be removed, not while it has sessions', async () => {
    const empty = await freshWorkspace('to-remove')
    const busy = await freshWorkspace('busy')
    await busy.ws.spawn({ ...TEST_SHELL })
    const ctx = await browser.newContext(DESKTOP)
    const page = await ctx.newPage()
    watchErrors(page, 'picker', errors)
    page.on('dialog', (d) => void d.accept())
    await page.goto(viewerUrl(tabula.url, tabula.token, { renderer: 'dom' }))
    const picker = page.getByTestId('picker')
    await picker.getByRole('textbox', { name: 'Project path' }).fill('/no/such/dir')
    await picker.getByRole('button', { name: 'Open' }).click()
    await until('the error names the path', () => picker.locator('.form-error').last().innerText(), {
      ok: (t) => t.includes('there is no directory /no/such/dir'),
    })
    expect((await setup.sdk.workspaces()).some((w) => w.path === '/no/such/dir')).toBe(false)

    await picker.getByRole('button', { name: `Remove to-remove` }).click()
    await until('gone from the list', () => picker.locator(`[data-workspace="${empty.id}"]`).count(), { ok: (n) => n === 0 })
    expect((await setup.sdk.workspaces()).some((w) => w.id === empty.id)).toBe(false)
    await picker.getByRole('button', { name: `Remove busy` }).click()
    await until('refused, with why', () => page.getByTestId('picker-error').innerText(), {
      ok: (t) => t.includes('still has 1 session(s)'),
    })
    expect((await setup.sdk.workspaces()).some((w) => w.id === busy.id)).toBe(true)
    await ctx.close()
  })

  it('an unknown #ws= says so; editing #ws= in the address opens that workspace', async () => {
    const a = await freshWorkspace('alpha-ws')
    const b = await freshWorkspace('beta-ws')
    const ctx = await browser.newContext(DESKTOP)
    const page = await ctx.newPage()
    watchErrors(page, 'hash', errors)
    const missing = '00000000-0000-4000-8000-000000000000'
    await page.goto(viewerUrl(tabula.url, tabula.token, { ws: missing, renderer: 'dom' }))
    await until('the picker says the workspace is unknown', () => page.getByTestId('picker-notice').innerText(), {
      ok: (t) => t.includes(`no workspace ${missing}`),
    })
    await page.locator(`[data-workspace="${a.id}"]`).click()
    await until('alpha opens', () => page.locator('.ws-title').innerText(), { ok: (t) => t === 'alpha-ws' })
    await page.evaluate((id) => (location.hash = `ws=${id}&renderer=dom`), b.id)
    await until(
      'beta opens',
      () =>
        page
          .locator('.ws-title')
          .innerText()
          .catch(() => ''),
      { ok: (t) => t === 'beta-ws' },
    )
    await ctx.close()
  })
})

describe('phone, with touch at 375×812', () => {
  let ws: WorkspaceView
  let id: string
  let keys: string[]
  let page: Page

  beforeAll(async () => {
    ;({ ws, id } = await freshWorkspace('phone'))
    keys = []
    for (const title of ['p-one', 'p-wide', 'p-three']) keys.push(await ws.spawn({ ...TEST_SHELL, title }))
    // p-wide is driven at 200 columns by another viewer: far wider than a phone, even at 8 px.
    const driver = ws.attach(keys[1]!)
    await new Promise<void>((resolve) => driver.onData(() => resolve()))
    driver.resize(200, 30)
    driver.setActive(true)
    await until('200 columns', async () => ws.sessions().find((s) => s.key === keys[1])?.cols, { ok: (c) => c === 200 })
    const ctx = await browser.newContext(PHONE)
    page = await ctx.newPage()
    watchErrors(page, 'phone', errors)
    await page.goto('about:blank') // something to go back to
    await page.goto(viewerUrl(tabula.url, tabula.token, { ws: id, name: 'Pocket' }))
    await page.locator('.phone .chip').first().waitFor()
  })
  afterAll(() => page?.context().close())

  const activeChip = () =>
    page
      .locator('.phone .chip.active .tab-title')
      .innerText({ timeout: 2000 })
      .catch(() => `(no active tab at ${page.url()})`)

  /** A one-finger horizontal drag across the terminal, as real touch events. */
  async function swipe(dx: number): Promise<void> {
    const box = (await page.locator('.phone .stage').boundingBox())!
    const y = box.y + box.height / 2
    const x0 = dx < 0 ? box.x + box.width - 40 : box.x + 40
    const cdp = await page.context().newCDPSession(page)
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: x0, y }] })
    for (let i = 1; i <= 10; i++)
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: x0 + (dx * i) / 10, y }] })
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] })
    await cdp.detach()
  }

  /** The scroll position once a fling has come to rest (two reads 250 ms apart agree). */
  async function settled(term: ReturnType<Page['locator']>): Promise<number> {
    let last = -1
    for (;;) {
      const now = await term.evaluate((el) => el.scrollLeft)
      if (now === last) return now
      last = now
      await new Promise((r) => setTimeout(r, 250))
    }
  }

  it('a sideways pan over a terminal wider than the screen scrolls it, and stays on the tab', async () => {
    await page.locator('.phone .chip', { hasText: 'p-wide' }).click()
    const term = page.locator(`.phone [data-term-key="${keys[1]}"]`)
    await until('wider than the pane', () => term.evaluate((el) => el.scrollWidth - el.clientWidth), { ok: (d) => d > 50 })
    await term.evaluate((el) => (el.scrollLeft = 0))
    await swipe(-200) // finger to the left: the content moves left
    const scrolled = await settled(term)
    expect(scrolled).toBeGreaterThan(0)
    expect(await activeChip()).toBe('p-wide')
    // At the left edge a swipe to the right has nothing to scroll: it goes to the previous tab.
    await term.evaluate((el) => (el.scrollLeft = 0))
    expect(await settled(term)).toBe(0)
    await swipe(200)
    await until('the previous tab', activeChip, { ok: (t) => t === 'p-one' })
    // And a terminal that fits switches tabs on a swipe, as before.
    await swipe(-200)
    await until('the next tab again', activeChip, { ok: (t) => t === 'p-wide' })
  })

  it('a swipe to the right never navigates the browser back out of the page', async () => {
    await page.locator('.phone .chip', { hasText: 'p-one' }).click()
    const url = page.url()
    await swipe(300)
    await swipe(300)
    expect(page.url()).toBe(url)
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).overscrollBehaviorX)).toBe('none')
  })

  it('typing while offline says the keys were not sent; an offline reload keeps the waiting edits, the tab and the last known size', async () => {
    await page.locator('.phone .chip', { hasText: 'p-three' }).click()
    await page.context().setOffline(true)
    await until('the banner says offline', () => page.getByTestId('status-banner').innerText(), { ok: (t) => /offline/i.test(t) })
    const bar = page.getByTestId('drive-bar')
    await until('the bar does not pretend to drive', () => bar.innerText(), { ok: (t) => t.includes('Offline · typing is not sent') })
    await page.locator(`.phone [data-term-key="${keys[2]}"] textarea`).focus()
    await page.keyboard.type('lost')
    await until('the keys are reported lost', () => page.getByTestId('input-lost').innerText(), {
      ok: (t) => t.includes('4 typed characters were not sent'),
    })
    // An edit made offline, then a reload with no connection.
    await page.locator('[data-testid="tabs-button"]').click()
    await page.getByRole('button', { name: 'Rename p-one' }).click()
    await page.keyboard.press('Control+A')
    await page.keyboard.type('renamed-offline\n')
    await page.locator('[data-testid="tabs-button"]').click()
    await until('waiting to sync', () => page.getByTestId('status-banner').innerText(), { ok: (t) => t.includes('waiting to sync') })
    await page.reload()
    await page.locator('.phone .chip').first().waitFor()
    await until('still waiting after the reload', () => page.getByTestId('status-banner').innerText(), {
      ok: (t) => t.includes('waiting to sync'),
    })
    expect(await activeChip()).toBe('p-three')
    const session = ws.sessions().find((s) => s.key === keys[2])!
    await until('the last known size, not a made-up one', () => bar.innerText(), {
      ok: (t) => t.includes(`last seen ${session.cols}×${session.rows}`),
    })
    await page.context().setOffline(false)
    await until('the rename reaches the others', async () => ws.tabs().find((t) => t.key === keys[0])?.title, {
      ok: (t) => t === 'renamed-offline',
    })
    await until('the banner clears', () => page.getByTestId('status-banner').isHidden(), { ok: (hidden) => hidden })
  })
})

void terminalText
