/**
 * Debian's Chromium driven by playwright-core. The browser is never downloaded: when
 * /usr/bin/chromium is missing, the run fails with the one command that installs it.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core'

export const CHROMIUM = process.env.TABULA_CHROMIUM ?? '/usr/bin/chromium'
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url))

/** `args` and `env` add to the defaults (a host-resolver rule, a HOME holding a test NSS database). */
export async function launchChromium(extra: { args?: string[]; env?: Record<string, string> } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}; the browser tests need it. Install it with:\n\n    apt-get install -y chromium\n`,
    )
  }
  mkdirSync(ARTIFACTS, { recursive: true })
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...(extra.args ?? []),
    ],
    ...(extra.env ? { env: { ...process.env, ...extra.env } as Record<string, string> } : {}),
  })
}

export const DESKTOP = { viewport: { width: 1280, height: 800 } }
export const PHONE = { viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }

/** The address `tabula up` prints, plus the workspace, a viewer name, and the DOM renderer. */
export function viewerUrl(base: string, token: string | null, extra: Record<string, string> = {}): string {
  const fragment = new URLSearchParams({ ...(token === null ? {} : { token }), ...extra })
  return `${base}/#${fragment}`
}

/** Collects page errors so a test can show them when it fails. */
export function watchErrors(page: Page, label: string, sink: string[]): void {
  page.on('pageerror', (err) => sink.push(`${label} pageerror: ${err.message}`))
}

/** The visible text of a terminal, row by row (tests load the page with the DOM renderer). */
export function terminalText(term: Locator): Promise<string> {
  return term.locator('.xterm-rows').innerText()
}

export type { Browser, BrowserContext, Page, Locator }
