/**
 * The web viewer end to end: a real `tabula up`, Debian's Chromium, a desktop page and a
 * phone-sized page on one workspace. Everything is asserted as a person would see it: tab titles
 * in the DOM, text on the terminal screen.
 */
import { until } from '../helpers/wait.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { WorkspaceView } from '@tabula/client-sdk'
import { TABULA_BIN, type RunningTabula } from '../helpers/tabula.js'
import { startWorkspace, type TestWorkspace } from '../helpers/workspace.js'
import {
  ARTIFACTS,
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

let setup: TestWorkspace
let tabula: RunningTabula
let browser: Browser
let ws: WorkspaceView
let workspaceId: string
let desktopCtx: BrowserContext
let phoneCtx: BrowserContext
let desktop: Page
let phone: Page
let keys: Record<string, string>
const errors: string[] = []

const desktopTitles = () => desktop.locator('.desktop .tab .tab-title').allInnerTexts()
const phoneTitles = () => phone.locator('.phone .chips .chip .tab-title').allInnerTexts()
const same = (want: string[]) => (got: string[]) => JSON.stringify(got) === JSON.stringify(want)

async function openViewer(ctx: BrowserContext, name: string): Promise<Page> {
  const page = await ctx.newPage()
  watchErrors(page, name, errors)
  await page.goto(viewerUrl(tabula.url, tabula.token, { ws: workspaceId, name, renderer: 'dom' }))
  return page
}

beforeAll(async () => {
  browser = await launchChromium()
  // The test's own viewer sets up the tabs through the SDK, as any program embedding it would.
  setup = await startWorkspace({ name: 'e2e', titles: ['alpha', 'beta', 'gamma'] })
  ;({ tabula, ws, workspaceId, keys } = setup)

  desktopCtx = await browser.newContext(DESKTOP)
  phoneCtx = await browser.newContext(PHONE)
  desktop = await openViewer(desktopCtx, 'Desk')
  phone = await openViewer(phoneCtx, 'Pocket')
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await setup?.stop()
  if (errors.length) console.warn(errors.join('\n'))
})

describe('web viewer: desktop and phone on one workspace', () => {
  it('shows the same tabs, in the same order, on both pages', async () => {
    await until('desktop tabs', desktopTitles, { ok: same(['alpha', 'beta', 'gamma']) })
    await until('phone tabs', phoneTitles, { ok: same(['alpha', 'beta', 'gamma']) })
    // The token left the address bar once the page had read it.
    expect(desktop.url()).not.toContain(tabula.token)
    expect(phone.url()).not.toContain(tabula.token)
  })

  it('a drag-reorder on the desktop shows on the phone', async () => {
    const gamma = desktop.locator('.desktop .tab', { hasText: 'gamma' })
    const alpha = desktop.locator('.desktop .tab', { hasText: 'alpha' })
    await gamma.dragTo(alpha, { targetPosition: { x: 4, y: 8 } })
    await until('desktop order after the drag', desktopTitles, { ok: same(['gamma', 'alpha', 'beta']) })
    await until('phone order after the drag', phoneTitles, { ok: same(['gamma', 'alpha', 'beta']) })
  })

  it('a rename on the phone shows on the desktop, and one on the desktop shows on the phone', async () => {
    await phone.getByTestId('tabs-button').click()
    const row = phone.locator(`.sheet-row[data-tab-key="${keys.beta}"]`)
    await row.getByTestId('rename').click()
    await row.locator('input.tab-rename').fill('build')
    await row.locator('input.tab-rename').press('Enter')
    await phone.getByTestId('tabs-button').click()
    await until('desktop sees the phone rename', desktopTitles, { ok: same(['gamma', 'alpha', 'build']) })

    await desktop.locator('.desktop .tab', { hasText: 'alpha' }).locator('.tab-title').dblclick()
    const input = desktop.locator('.desktop input.tab-rename')
    await input.fill('server')
    await input.press('Enter')
    await until('phone sees the desktop rename', phoneTitles, { ok: same(['gamma', 'server', 'build']) })
  })

  it('typing in one terminal shows in the other', async () => {
    // Both look at "server".
    await desktop.locator('.desktop .tab', { hasText: 'server' }).click()
    await phone.locator('.chip', { hasText: 'server' }).click()
    const deskTerm = desktop.locator(`.desktop [data-term-key="${keys.alpha}"]`)
    const phoneTerm = phone.locator(`.phone [data-term-key="${keys.alpha}"]`)
    await deskTerm.click()
    await desktop.keyboard.type('echo from-desk-$((6*7))')
    await desktop.keyboard.press('Enter')
    await until('the phone screen shows the desktop command', () => terminalText(phoneTerm), { ok: (t) => t.includes('from-desk-42') })

    await phoneTerm.click()
    await phone.keyboard.type('echo from-phone-$((20+3))')
    await phone.keyboard.press('Enter')
    await until('the desktop screen shows the phone command', () => terminalText(deskTerm), { ok: (t) => t.includes('from-phone-23') })
    // The key bar's ↑ recalls the command from the shell's history; Enter runs it again.
    await phone.getByRole('toolbar', { name: 'Keys' }).locator('[data-key="↑"]').click()
    await phone.keyboard.press('Enter')
    await until('the desktop shows the command run again', () => terminalText(deskTerm), {
      ok: (t) => t.split('\n').filter((l) => l.trim() === 'from-phone-23').length === 2,
    })
  })

  it('shows who else looks at a tab, who drives, and lets either side take over', async () => {
    await until('desktop footer names the phone', () => desktop.locator('.desktop [data-testid="presence"]').first().innerText(), {
      ok: (t) => t.includes('Pocket · phone'),
    })
    // The phone typed, so the daemon made it the driver; it still never sent a size (watching).
    const deskDriver = desktop.locator('.desktop [data-testid="driver"]').first()
    await until('desktop says the phone drives', () => deskDriver.innerText(), { ok: (t) => t.includes('size set by Pocket (phone)') })
    const bar = phone.getByTestId('drive-bar')
    const pty = () => ws.sessions().find((x) => x.key === keys.alpha)!
    // The phone is the active viewer only because it typed: it says so, and that the PTY kept its size.
    const typing = await until('the phone says it types without setting the size', () => bar.innerText(), {
      ok: (t) => t.includes('Typing') && !t.includes('Driving'),
    })
    expect(typing).toContain(`${pty().cols}×${pty().rows}`)
    expect(pty().cols).toBeGreaterThan(75)
    await expect(bar.getByTestId('drive').isVisible()).resolves.toBe(true)
    await desktop.getByTestId('drive-here').first().click()
    await until('desktop drives', () => deskDriver.innerText(), { ok: (t) => t.includes('this viewer sets the size') })
    await until('the phone is watching', () => bar.innerText(), { ok: (t) => t.includes('Watching') })
    // Watching never resizes: the PTY keeps the desktop's size, which the phone shows too.
    const deskSize = /(\d+)×(\d+)/.exec(await deskDriver.innerText())!
    expect([pty().cols, pty().rows]).toEqual([Number(deskSize[1]), Number(deskSize[2])])
    expect(await bar.innerText()).toContain(`${deskSize[1]}×${deskSize[2]}`)
    await phone.getByTestId('drive').click()
    await until('the phone drives', () => bar.innerText(), { ok: (t) => t.includes('Driving') })
    await until('the PTY takes the phone size', async () => pty().cols, { ok: (cols) => cols < 60 })
    // The page never grows wider than the phone (a pane as wide as the terminal would).
    expect(await pageWidth(phone)).toBeLessThanOrEqual(375)
    await until('desktop sees the phone driving', () => deskDriver.innerText(), { ok: (t) => t.includes('size set by Pocket (phone)') })
    await desktop.getByTestId('drive-here').first().click()
    await until('desktop drives again', () => deskDriver.innerText(), { ok: (t) => t.includes('this viewer sets the size') })
  })

  it('names the other viewers on a tap of the header, and explains the number on phone tabs', async () => {
    const list = phone.getByTestId('viewer-list')
    expect(await list.isHidden()).toBe(true)
    await phone.getByTestId('viewers').click()
    await until('the phone lists who is looking', () => list.innerText(), { ok: (t) => t.includes('Desk (desktop)') })
    await phone.getByTestId('viewers').click()
    expect(await list.isHidden()).toBe(true)
    await desktop.getByTestId('viewers').click()
    await until('the desktop lists who is looking', () => desktop.getByTestId('viewer-list').innerText(), {
      ok: (t) => t.includes('Pocket (phone)'),
    })
    await desktop.keyboard.press('Escape')
    // Both look at "server": the phone's chip says who else does, in words, not just a number.
    const badge = phone.locator(`.chip[data-tab-key="${keys.alpha}"]`).getByTestId('watchers')
    await until('the badge is labelled', async () => (await badge.getAttribute('aria-label')) ?? '', {
      ok: (t) => /^\d+ others? looking: .*Desk \(desktop\)/.test(t),
    })
    // The split buttons say what they do, on screen and to assistive technology.
    const split = desktop.getByRole('button', { name: 'Split right' })
    expect(await split.innerText()).toContain('Split')
    expect(await desktop.getByRole('button', { name: 'Split down' }).innerText()).toContain('Split')
  })

  it('a phone with the default renderer fits the screen: watching a wide terminal, and driving it', async () => {
    const ctx = await browser.newContext(PHONE)
    const page = await ctx.newPage()
    watchErrors(page, 'phone-gl', errors)
    // A tab of its own, so that what it prints stays out of the others (and the screenshots).
    const wide = await ws.spawn({ title: 'wide' })
    await desktop.locator('.desktop .tab', { hasText: 'wide' }).click()
    await page.goto(viewerUrl(tabula.url, tabula.token, { ws: workspaceId, name: 'Pocket GL' }))
    await page.locator('.chip', { hasText: 'wide' }).click()
    const term = page.locator(`.phone [data-term-key="${wide}"]`)
    // The page's own choice of renderer (the DOM one on phones: WebGL drew at twice the size there).
    await until('the terminal is drawn', async () => term.getAttribute('data-renderer'), { ok: (r) => r === 'dom' || r === 'webgl' })
    const pty = () => ws.sessions().find((x) => x.key === wide)!
    // The desktop drives at its own width, far more columns than fit on a phone even at 8 px.
    await until('the desktop drives the new tab', async () => pty().cols, { ok: (cols) => cols > 100 })

    // Something to see, written from the desktop: 8 rows of 60 full blocks.
    const deskTerm = desktop.locator(`.desktop [data-term-key="${wide}"]`)
    await deskTerm.click()
    await desktop.keyboard.type(`b=${'█'.repeat(20)}; for i in 1 2 3 4 5 6 7 8; do echo $b$b$b; done`)
    await desktop.keyboard.press('Enter')
    await until('the watching phone shows at the PTY size', () => page.getByTestId('drive-bar').innerText(), {
      ok: (t) => t.includes(`Watching · ${pty().cols}×${pty().rows}`),
    })
    await until('the watching phone shows the blocks on screen', () => litPixels(page, term), { ok: (n) => n > 20_000 })
    const watching = await termGeometry(page, wide, pty().rows)
    expect(watching.pageWidth).toBeLessThanOrEqual(375)
    expect(watching.termRight).toBeLessThanOrEqual(375)
    // Wider than the screen: the terminal scrolls sideways inside its pane, and no half row is cut at the top.
    expect(watching.scrollWidth).toBeGreaterThan(watching.clientWidth)
    expect(watching.topRowOffset).toBeLessThan(0.05)

    await page.getByTestId('drive').click()
    await until('the PTY takes the phone size', async () => pty().cols, { ok: (cols) => cols < 60 })
    await until('the phone says it drives', () => page.getByTestId('drive-bar').innerText(), {
      ok: (t) => t.includes(`Driving · ${pty().cols}×`),
    })
    await term.click()
    await page.keyboard.type(`b=${'█'.repeat(10)}; for i in 1 2 3 4 5 6 7 8; do echo $b$b$b$b; done`)
    await page.keyboard.press('Enter')
    await until('the driving phone shows its own output on screen', () => litPixels(page, term), { ok: (n) => n > 20_000 })
    const driving = await termGeometry(page, wide, pty().rows)
    expect(driving.pageWidth).toBeLessThanOrEqual(375)
    expect(driving.scrollWidth).toBeLessThanOrEqual(driving.clientWidth)
    await screenshot(page, 'web-phone-default-renderer.png')
    await ctx.close()
    // The phone left, so nobody drives: the desktop takes the role back by itself.
    await until('desktop drives again', async () => pty().cols, { ok: (cols) => cols > 100 })
    await ws.close(wide)
    await until('the extra tab is gone from the desktop', desktopTitles, { ok: same(['gamma', 'server', 'build']) })
    await until('and from the phone', phoneTitles, { ok: same(['gamma', 'server', 'build']) })
    await desktop.locator('.desktop .tab', { hasText: 'server' }).click()
  }, 90_000)

  it('an offline phone renames at once, says the edit is waiting, and the rename reaches the desktop when it is back', async () => {
    await phoneCtx.setOffline(true)
    const banner = phone.getByTestId('status-banner')
    await until('phone shows it is offline', () => banner.innerText(), { ok: (t) => t.startsWith('Offline') })
    // Driving needs the daemon: the button says so instead of failing.
    const drive = phone.getByTestId('drive')
    await until('Drive is disabled while offline', () => drive.isDisabled(), { ok: (d) => d })
    await phone.getByTestId('tabs-button').click()
    const row = phone.locator(`.sheet-row[data-tab-key="${keys.gamma}"]`)
    await row.getByTestId('rename').click()
    await row.locator('input.tab-rename').fill('logs')
    await row.locator('input.tab-rename').press('Enter')
    await phone.getByTestId('tabs-button').click()
    await until('the phone shows its own rename at once', phoneTitles, { ok: same(['logs', 'server', 'build']) })
    await until('the banner says the edit waits', () => banner.innerText(), { ok: (t) => t.includes('waiting to sync') })
    expect(await desktopTitles()).toEqual(['gamma', 'server', 'build'])
    await screenshot(phone, 'web-phone-offline.png')

    await phoneCtx.setOffline(false)
    await until('the desktop gets the offline rename', desktopTitles, { ok: same(['logs', 'server', 'build']) })
    await until('the phone banner clears', () => banner.isHidden(), { ok: (hidden) => hidden })
    await until('Drive is enabled again', () => drive.isEnabled(), { ok: (e) => e })
  })

  it('an edit made offline survives a reload while offline, and reaches the others when back', async () => {
    // The page's service worker is what lets it load with no connection.
    await phone.evaluate(() => navigator.serviceWorker.ready.then(() => true))
    await phoneCtx.setOffline(true)
    const banner = () => phone.getByTestId('status-banner').innerText()
    await until('phone offline', banner, { ok: (t) => t.startsWith('Offline') })
    await phone.getByTestId('tabs-button').click()
    await phone.locator(`.sheet-row[data-tab-key="${keys.beta}"]`).getByTestId('move-up').click()
    await until('the phone shows its own move', phoneTitles, { ok: same(['logs', 'build', 'server']) })
    await until('the move is waiting', banner, { ok: (t) => t.includes('waiting to sync') })

    await phone.reload()
    await until('after the reload the phone still shows its move', phoneTitles, { ok: same(['logs', 'build', 'server']) })
    // Offline, the page cannot list workspaces, but still names the one it shows.
    expect(await phone.locator('.ws-title').innerText()).toBe('e2e')
    await until('and still says it is offline', banner, { ok: (t) => t.startsWith('Offline') })
    expect(await desktopTitles()).toEqual(['logs', 'server', 'build'])

    await phoneCtx.setOffline(false)
    await until('the desktop gets the move the reloaded page kept', desktopTitles, { ok: same(['logs', 'build', 'server']) })
    await until('the phone banner clears', () => phone.getByTestId('status-banner').isHidden(), { ok: (hidden) => hidden })
  })

  it('an exited tab shows its exit code, with restart and close', async () => {
    const key = await ws.spawn({ command: 'sh', args: ['-c', 'echo bye; exit 3'], title: 'short' })
    await desktop.locator('.desktop .tab', { hasText: 'short' }).click()
    const exited = desktop.locator('.desktop [data-testid="exited"]')
    await until('the exit code shows', () => exited.innerText(), { ok: (t) => t.includes('exited with code 3') })
    await expect(exited.getByRole('button', { name: 'Restart' }).isVisible()).resolves.toBe(true)
    await exited.getByRole('button', { name: 'Close tab' }).click()
    await until('the exited tab is gone from the desktop', desktopTitles, { ok: (t) => !t.includes('short') })
    await until('and from the phone', phoneTitles, { ok: (t) => !t.includes('short') })
    expect(ws.tabs().some((t) => t.key === key)).toBe(false)
  })

  it('splits a group and moves a tab into the new group by dragging', async () => {
    await desktop.getByTestId('split-right').first().click()
    await until('two groups', () => desktop.locator('.desktop section.group').count(), { ok: (n) => n === 2 })
    const target = desktop.locator('.desktop section.group').nth(1).locator('.tab-strip')
    await desktop.locator('.desktop .tab', { hasText: 'build' }).dragTo(target)
    await until(
      'build sits in the second group',
      () => desktop.locator('.desktop section.group').nth(1).locator('.tab .tab-title').allInnerTexts(),
      { ok: same(['build']) },
    )
    await until('the phone still lists every tab once', phoneTitles, { ok: same(['logs', 'server', 'build']) })

    // Something worth looking at for the screenshots.
    const buildTerm = desktop.locator(`.desktop [data-term-key="${keys.beta}"]`)
    await buildTerm.click()
    await desktop.keyboard.type(
      `for p in protocol daemon sync-server client-sdk web; do printf '\\e[1;32m\\u2713\\e[0m built \\e[36m%s\\e[0m\\n' $p; done`,
    )
    await desktop.keyboard.press('Enter')
    await until('the build output', () => terminalText(buildTerm), { ok: (t) => t.includes('built web') })
    await phone.locator('.chip', { hasText: 'server' }).click()
    await until('the phone shows the server screen', () => terminalText(phone.locator(`.phone [data-term-key="${keys.alpha}"]`)), {
      ok: (t) => t.includes('from-desk-42'),
    })
    // The phone shows one tab, so the desktop badges it on that tab alone, not one per group.
    const phoneBadged = () =>
      desktop
        .locator('.desktop .tab', { has: desktop.locator('.tab-watchers[title*="Pocket"]') })
        .locator('.tab-title')
        .allInnerTexts()
    await until('the desktop sees the phone on the server tab only', phoneBadged, { ok: same(['server']) })
    await screenshot(desktop, 'web-desktop.png')
    await screenshot(phone, 'web-phone.png')
  })

  it('a tab closed from the CLI disappears from both pages', async () => {
    await run(process.execPath, [TABULA_BIN, 'close', keys.gamma!, '--workspace', workspaceId, '--home', tabula.home])
    await until('desktop drops the closed tab', desktopTitles, { ok: same(['server', 'build']) })
    await until('phone drops the closed tab', phoneTitles, { ok: same(['server', 'build']) })
  })

  it('a HiDPI desktop (pixel ratio 2) draws its terminal, with no renderer chosen in the link', async () => {
    const ctx = await browser.newContext({ ...DESKTOP, deviceScaleFactor: 2 })
    try {
      const page = await ctx.newPage()
      watchErrors(page, 'hidpi', errors)
      await page.goto(viewerUrl(tabula.url, tabula.token, { ws: workspaceId, name: 'Retina' }))
      const term = page.locator(`.desktop [data-term-key="${keys.alpha}"]`)
      await page.locator('.desktop .tab', { hasText: 'server' }).first().click()
      // What a person sees: the screen's text (xterm's WebGL renderer drew nothing at this ratio).
      await until('the HiDPI page shows the shell', () => terminalText(term).catch(() => ''), { ok: (t) => t.includes('$') })
    } finally {
      await ctx.close()
    }
  })

  it('without a workspace in the link, offers a picker, and opens a project by path', async () => {
    const ctx = await browser.newContext(DESKTOP)
    const page = await ctx.newPage()
    watchErrors(page, 'picker', errors)
    await page.goto(viewerUrl(tabula.url, tabula.token, { renderer: 'dom' }))
    const picker = page.getByTestId('picker')
    await picker.locator(`[data-workspace="${workspaceId}"]`).click()
    await until('the chosen workspace opens', () => page.locator('.desktop .tab .tab-title').allInnerTexts(), {
      ok: same(['server', 'build']),
    })
    await page.getByRole('button', { name: 'Workspaces' }).click()
    await page.getByRole('textbox', { name: 'Project path' }).fill('/tmp')
    await page.getByRole('button', { name: 'Open' }).click()
    await until('the new, empty workspace opens', () => page.locator('.desktop .empty-state').innerText(), {
      ok: (t) => t.includes('No tabs here yet'),
    })
    await ctx.close()
  })

  it('shows a clear page without a token and with a wrong one', async () => {
    const ctx = await browser.newContext(DESKTOP)
    const page = await ctx.newPage()
    await page.goto(`${tabula.url}/`)
    const missing = await until('the missing-token page', () => page.getByTestId('no-token').innerText(), {
      ok: (t) => t.includes('needs its access link'),
    })
    // Real code elements, and this server's own address rather than a default one.
    expect(missing).not.toContain('`')
    expect(missing).toContain(`echo "${tabula.url}/#token=$(cat ~/.tabula/token)"`)
    expect(await page.getByTestId('no-token').locator('code', { hasText: 'tabula up' }).count()).toBeGreaterThan(0)
    // Only the fragment changes (no reload by the browser): the page follows the new link itself.
    await page.goto(viewerUrl(tabula.url, 'not-the-token'))
    await until('the wrong-token page', () => page.getByTestId('bad-token').innerText(), { ok: (t) => t.includes('not valid') })
    await ctx.close()
  })
})

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, name) })
  if (process.env.TABULA_UPDATE_DOC_IMAGES && (name === 'web-desktop.png' || name === 'web-phone.png')) {
    copyFileSync(join(ARTIFACTS, name), new URL(`../../docs/images/${name}`, import.meta.url))
  }
}

/** How wide the page's content is: more than the viewport means the page scrolls sideways. */
function pageWidth(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth)
}

/** Where a phone's terminal sits and how it scrolls. */
function termGeometry(page: Page, key: string, rows: number) {
  return page.evaluate(
    ({ key, rows }) => {
      const term = document.querySelector<HTMLElement>(`.phone [data-term-key="${CSS.escape(key)}"]`)!
      const screen = term.querySelector<HTMLElement>('.xterm-screen')!
      const rowHeight = screen.offsetHeight / rows
      const top0 = screen.getBoundingClientRect().top - term.getBoundingClientRect().top + term.scrollTop - term.clientTop
      const fromTop = (term.scrollTop - top0) / rowHeight
      return {
        pageWidth: document.documentElement.scrollWidth,
        termRight: term.getBoundingClientRect().right,
        scrollWidth: term.scrollWidth,
        clientWidth: term.clientWidth,
        // 0 when the top edge of the visible part lies on a row boundary (or nothing scrolls).
        topRowOffset: term.scrollTop === 0 ? 0 : Math.abs(fromTop - Math.round(fromTop)),
      }
    },
    { key, rows },
  )
}

/**
 * Bright pixels inside an element as it is on screen: text and blocks in the terminal's
 * foreground, against its dark background. A blank (or clipped-away) terminal has almost none.
 */
async function litPixels(page: Page, locator: ReturnType<Page['locator']>): Promise<number> {
  const png = (await locator.screenshot()).toString('base64')
  return page.evaluate(async (b64) => {
    const img = new Image()
    img.src = `data:image/png;base64,${b64}`
    await img.decode()
    const canvas = document.createElement('canvas')
    canvas.width = img.width
    canvas.height = img.height
    const ctx = canvas.getContext('2d')!
    ctx.drawImage(img, 0, 0)
    const data = ctx.getImageData(0, 0, img.width, img.height).data
    let lit = 0
    for (let i = 0; i < data.length; i += 4) if (Math.max(data[i]!, data[i + 1]!, data[i + 2]!) > 150) lit++
    return lit
  }, png)
}
