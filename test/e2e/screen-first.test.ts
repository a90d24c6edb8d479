/**
 * The web viewer attaches screen first (docs/viewers.md, "Attaching"): in Debian's Chromium
 * against a real `tabula up`, its attach asks for it, the screen shows, and the scrollback that
 * follows is there once, from its first line, with nothing of the first screen left above it.
 */
import { until } from '../helpers/wait.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorkspace, type TestWorkspace } from '../helpers/workspace.js'
import { DESKTOP, launchChromium, terminalText, viewerUrl, watchErrors, type Browser } from './browser.js'

let setup: TestWorkspace
let browser: Browser
const errors: string[] = []

beforeAll(async () => {
  browser = await launchChromium()
  setup = await startWorkspace({ name: 'screen-first', titles: [] })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await setup?.stop()
  if (errors.length) console.warn(errors.join('\n'))
})

describe('web viewer: screen-first attach', () => {
  it('asks for the screen first, shows it, and then has the whole scrollback once', async () => {
    const { tabula, ws, workspaceId } = setup
    const key = await ws.spawn({ command: 'sh', args: ['-c', "seq -f 'history line %04g' 1 600; echo ready; exec cat"], title: 'hist' })
    const ctx = await browser.newContext(DESKTOP)
    try {
      const page = await ctx.newPage()
      watchErrors(page, 'desktop', errors)
      const sent: string[] = []
      page.on('websocket', (socket) => socket.on('framesent', (frame) => typeof frame.payload === 'string' && sent.push(frame.payload)))
      await page.goto(viewerUrl(tabula.url, tabula.token, { ws: workspaceId, name: 'Desk', renderer: 'dom' }))
      const term = page.locator(`.desktop [data-term-key="${key}"]`)
      await until('the screen', () => terminalText(term), { ok: (text) => text.includes('ready') })
      const attach = sent.map((payload) => JSON.parse(payload) as Record<string, unknown>).find((f) => f.type === 'attach' && f.key === key)
      expect(attach).toMatchObject({ screenFirst: true, binarySnapshot: true })
      // Scrolled to the top, the first row is the first line of the history: it came, once, and
      // replaced the screen-only first chunk whole.
      await term.locator('.xterm-screen').hover()
      const top = await until(
        'the top of the scrollback',
        async () => {
          await page.mouse.wheel(0, -100_000)
          return terminalText(term)
        },
        { ok: (text) => text.split('\n')[0] === 'history line 0001' },
      )
      expect(top.split('\n')[1]).toBe('history line 0002')
    } finally {
      await ctx.close()
    }
  }, 60_000)
})
