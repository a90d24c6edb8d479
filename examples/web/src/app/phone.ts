/**
 * The phone layout (same page, chosen by screen width): one terminal at a time, a scrollable tab
 * list to pick it (or swipe across the terminal), a key bar for the keys a phone keyboard lacks,
 * and a tab sheet to rename, reorder and close.
 *
 * Watching is the default: the phone shows the PTY at the size the driving viewer gave it, with
 * the font shrunk to fit, and never sends a size. "Drive" is an explicit tap.
 */
import type { Tab } from './sdk.js'
import { h, toUnsubscribe, type Unsubscribe } from './dom.js'
import type { ViewerSession } from './session.js'
import { renderPaneBody, type PaneBody } from './pane.js'
import { startRename } from './tab-strip.js'
import { reportError } from './errors.js'
import { confirmClose } from './close-confirm.js'
import { distinctTitles } from './titles.js'
import type { DriverState, TerminalView } from './terminal-view.js'

const KEYS: Array<{ label: string; data?: string; ctrl?: true; title: string }> = [
  { label: 'Esc', data: '\x1b', title: 'Escape' },
  { label: 'Tab', data: '\t', title: 'Tab' },
  { label: 'Ctrl', ctrl: true, title: 'Ctrl: applies to the next key' },
  { label: '←', data: '\x1b[D', title: 'Left' },
  { label: '↑', data: '\x1b[A', title: 'Up' },
  { label: '↓', data: '\x1b[B', title: 'Down' },
  { label: '→', data: '\x1b[C', title: 'Right' },
  { label: '|', data: '|', title: 'Pipe' },
  { label: '~', data: '~', title: 'Tilde' },
  { label: '/', data: '/', title: 'Slash' },
]

export class PhoneView {
  readonly el: HTMLElement
  private readonly chips = h('nav.chips', { 'aria-label': 'Tabs', 'data-testid': 'tab-list' })
  private readonly stage = h('div.stage')
  private readonly driveBar = h('div.drive-bar', { 'data-testid': 'drive-bar' })
  private readonly keyBar = h('div.key-bar', { role: 'toolbar', 'aria-label': 'Keys' })
  private readonly sheet = h('div.sheet', { hidden: true, 'data-testid': 'tab-sheet' })
  private readonly sheetButton: HTMLElement
  private current: string | null = null
  private body: PaneBody | null = null
  private offDriver: Unsubscribe = () => {}
  private offCtrl: Unsubscribe = () => {}
  private pendingRender = false
  private readonly subscriptions: Unsubscribe[] = []
  private readonly offlineGuard: { apply(): void; dispose(): void }

  constructor(private readonly session: ViewerSession) {
    this.sheetButton = h(
      'button.sheet-toggle',
      { 'aria-expanded': 'false', 'data-testid': 'tabs-button', onclick: () => this.toggleSheet() },
      'Tabs',
    )
    this.el = h(
      'main.phone',
      { 'data-testid': 'phone' },
      h('div.phone-top', {}, this.chips, this.sheetButton),
      this.sheet,
      this.stage,
      this.driveBar,
      this.keyBar,
    )
    this.buildKeyBar()
    this.enableSwipe()
    preventHistorySwipe(this.el)
    this.offlineGuard = session.guardOffline(this.driveBar)
    const ws = session.ws
    this.subscriptions.push(
      toUnsubscribe(ws.on('change', () => this.render())),
      toUnsubscribe(ws.on('presence', () => this.renderChips(this.orderedTabs()))),
      // The bar must never say "Driving" while nothing typed here can arrive.
      toUnsubscribe(ws.on('status', () => this.body?.view && this.renderDriveBar(this.body.view, this.body.view.state))),
    )
    this.current = readSelection(session.workspaceId)
    this.sheet.addEventListener('focusout', () => queueMicrotask(() => this.pendingRender && this.render()))
    this.render()
  }

  dispose(): void {
    for (const off of this.subscriptions) off()
    this.offlineGuard.dispose()
    this.offDriver()
    this.offCtrl()
    this.body?.dispose()
  }

  /** Every tab in display order: groups in layout order, then each group's own order. */
  private orderedTabs(): Tab[] {
    const ws = this.session.ws
    const groups = ws.layout().groups
    const rank = (g: string) => {
      const i = groups.indexOf(g)
      return Math.max(i, 0)
    }
    return distinctTitles(
      [...ws.tabs()].sort((a, b) => rank(a.group) - rank(b.group) || a.index - b.index),
      ws.sessions(),
    )
  }

  private render(): void {
    if (this.sheet.querySelector('input.tab-rename')) {
      this.pendingRender = true
      return
    }
    this.pendingRender = false
    const tabs = this.orderedTabs()
    this.session.prune(tabs)
    if (!this.current || !tabs.some((t) => t.key === this.current)) this.current = tabs[0]?.key ?? null
    if (this.current) saveSelection(this.session.workspaceId, this.current)
    // Presence reports the SDK's selection: keep it on the tab this phone shows.
    const shown = tabs.find((t) => t.key === this.current)
    if (shown && this.session.ws.activeTabs()[shown.group] !== shown.key) this.session.ws.setActiveTab(shown.key)
    // One tab on screen at a time: others should see this phone on that tab only.
    this.session.ws.setVisibleGroups(shown ? [shown.group] : [])
    this.renderChips(tabs)
    this.renderSheet(tabs)
    this.renderStage(tabs.find((t) => t.key === this.current) ?? null)
  }

  private select(key: string): void {
    this.current = key
    this.render() // publishes the selection too
    this.chips.querySelector(`[data-tab-key="${CSS.escape(key)}"]`)?.scrollIntoView({ inline: 'nearest', block: 'nearest' })
  }

  private renderChips(tabs: Tab[]): void {
    this.chips.replaceChildren(
      ...tabs.map((tab) => {
        const watchers = this.session.watchers(tab.key)
        return h(
          'button.chip' + (tab.key === this.current ? '.active' : '') + (tab.status === 'exited' ? '.exited' : ''),
          { 'data-tab-key': tab.key, role: 'tab', 'aria-selected': String(tab.key === this.current), onclick: () => this.select(tab.key) },
          h('span.tab-title', {}, tab.title),
          watchers.length ? watcherBadge(watchers) : null,
        )
      }),
    )
    this.sheetButton.textContent = `Tabs ${tabs.length}`
  }

  private renderStage(tab: Tab | null): void {
    const ws = this.session.ws
    this.body?.dispose()
    this.offDriver()
    this.offCtrl()
    this.body = renderPaneBody(this.session, tab, {
      restart: (key) => reportError(ws.restart(key), 'restart the session'),
      close: (key) => this.close(key),
      newTab: () => this.newTab(),
    })
    this.stage.replaceChildren(this.body.el)
    const view = this.body.view
    if (view) {
      view.layout()
      this.offDriver = view.onDriver((state) => this.renderDriveBar(view, state))
      this.offCtrl = view.onCtrl((armed) => this.keyBar.querySelector('[data-key="Ctrl"]')?.classList.toggle('armed', armed))
    } else {
      this.driveBar.replaceChildren()
    }
  }

  private renderDriveBar(view: TerminalView, state: DriverState): void {
    const size = `${state.cols}×${state.rows}`
    const drive = () =>
      h(
        'button.primary.small',
        {
          'data-testid': 'drive',
          'data-needs-daemon': true,
          title: "Make this phone's size the terminal's size",
          onclick: () => view.drive(),
        },
        'Drive',
      )
    if (!this.session.daemonOnline) {
      // Offline: no live size and no driver to report, only what the last key set said.
      const known = this.session.ws.sessions().find((s) => s.key === view.key)
      const last = known ? ` · last seen ${known.cols}×${known.rows}${known.status === 'exited' ? ', exited' : ''}` : ''
      this.driveBar.replaceChildren(h('span.mode.offline', { 'data-mode': 'offline' }, `Offline · typing is not sent${last}`), drive())
    } else if (state.self && view.sendsSize) {
      this.driveBar.replaceChildren(h('span.mode.driving', { 'data-mode': 'driving' }, `Driving · ${size}`))
    } else if (state.self) {
      // Typing made this phone the active viewer at the daemon, but it never sent its size: the
      // PTY keeps the size the previous driver set, and nobody else's resizes reach it now.
      this.driveBar.replaceChildren(
        h(
          'span.mode',
          { 'data-mode': 'typing', title: 'Typing from this phone made it the active viewer; the terminal keeps the size it had' },
          `Typing · size kept at ${size}`,
        ),
        drive(),
      )
    } else {
      this.driveBar.replaceChildren(h('span.mode', { 'data-mode': 'watching' }, `Watching · ${size}`), drive())
    }
    this.offlineGuard.apply()
  }

  private buildKeyBar(): void {
    for (const key of KEYS) {
      const button = h('button.key', { 'data-key': key.label, title: key.title, 'aria-label': key.title }, key.label)
      // Keep focus (and the soft keyboard) on the terminal while tapping keys.
      button.addEventListener('pointerdown', (e) => e.preventDefault())
      button.addEventListener('click', () => {
        const view = this.body?.view
        if (!view) return
        if (key.ctrl) view.setCtrl(!view.ctrl)
        else view.send(key.data!)
        view.focus()
      })
      this.keyBar.appendChild(button)
    }
  }

  private toggleSheet(open = this.sheet.hidden): void {
    this.sheet.hidden = !open
    this.sheetButton.setAttribute('aria-expanded', String(open))
  }

  private renderSheet(tabs: Tab[]): void {
    const ws = this.session.ws
    const rows = tabs.map((tab, i) => {
      const title = h('span.tab-title', {}, tab.title)
      return h(
        'li.sheet-row' + (tab.key === this.current ? '.active' : ''),
        { 'data-tab-key': tab.key },
        h(
          'button.sheet-open',
          {
            onclick: () => {
              this.select(tab.key)
              this.toggleSheet(false)
            },
          },
          title,
        ),
        h(
          'button.icon',
          {
            title: 'Rename',
            'aria-label': `Rename ${tab.title}`,
            'data-testid': 'rename',
            onclick: () => startRename(title, tab, { rename: (k, t) => ws.rename(k, t) }),
          },
          '✎',
        ),
        h(
          'button.icon',
          {
            title: 'Move up',
            'aria-label': `Move ${tab.title} up`,
            'data-testid': 'move-up',
            disabled: i === 0,
            onclick: () => this.shift(tabs, i, -1),
          },
          '↑',
        ),
        h(
          'button.icon',
          {
            title: 'Move down',
            'aria-label': `Move ${tab.title} down`,
            'data-testid': 'move-down',
            disabled: i === tabs.length - 1,
            onclick: () => this.shift(tabs, i, 1),
          },
          '↓',
        ),
        h('button.icon.danger', { title: 'Close tab', 'aria-label': `Close ${tab.title}`, onclick: () => this.close(tab.key) }, '×'),
      )
    })
    this.sheet.replaceChildren(
      h('ul.sheet-list', {}, ...rows),
      h('button.primary.sheet-new', { onclick: () => this.newTab() }, 'New terminal'),
    )
  }

  /** Swaps a tab with its neighbour in the flat list; across a group boundary it changes group. */
  private shift(tabs: Tab[], i: number, by: -1 | 1): void {
    const tab = tabs[i]!
    const neighbour = tabs[i + by]
    if (!neighbour) return
    const ws = this.session.ws
    if (neighbour.group === tab.group) ws.move(tab.key, { group: tab.group, index: neighbour.index })
    else ws.move(tab.key, { group: neighbour.group, index: by < 0 ? neighbour.index + 1 : neighbour.index })
  }

  private close(key: string): void {
    const tab = this.orderedTabs().find((t) => t.key === key)
    if (!tab) return
    void confirmClose(tab).then((yes) => yes && reportError(this.session.ws.close(key), 'close the tab'))
  }

  private newTab(): void {
    const ws = this.session.ws
    reportError(
      ws.spawn({}).then((key) => {
        this.toggleSheet(false)
        this.select(key)
      }),
      'open a new tab',
    )
  }

  /**
   * A sideways swipe over the terminal goes to the next or previous tab, unless the terminal is
   * wider than its pane and the swipe can scroll it that way: then the swipe scrolls, as on any
   * scrollable page, and only a swipe that starts at the edge (nothing left to scroll) changes tab.
   */
  private enableSwipe(): void {
    let start: { x: number; y: number; scrollLeft: number; term: HTMLElement | null } | null = null
    this.stage.addEventListener(
      'touchstart',
      (e) => {
        const t = e.touches[0]
        const term = this.stage.querySelector<HTMLElement>('.term')
        start = e.touches.length === 1 && t ? { x: t.clientX, y: t.clientY, scrollLeft: term?.scrollLeft ?? 0, term } : null
      },
      { passive: true, capture: true },
    )
    this.stage.addEventListener(
      'touchend',
      (e) => {
        const t = e.changedTouches[0]
        if (!start || !t) return
        const dx = t.clientX - start.x
        const dy = t.clientY - start.y
        const { term, scrollLeft } = start
        start = null
        if (Math.abs(dx) < 60 || Math.abs(dx) < 2 * Math.abs(dy)) return
        if (term && isWide(term) && (Math.abs(term.scrollLeft - scrollLeft) > 1 || canScrollToward(term, dx < 0 ? 1 : -1))) return
        const tabs = this.orderedTabs()
        const i = tabs.findIndex((x) => x.key === this.current)
        const next = tabs[i + (dx < 0 ? 1 : -1)]
        if (next) this.select(next.key)
      },
      { passive: true, capture: true },
    )
  }
}

/**
 * A sideways drag that nothing under the finger can scroll any further would overscroll the page,
 * and Chromium turns that into "go back" (out of the viewer). CSS `overscroll-behavior-x: none`
 * did not stop it in our Chromium tests, so such a move is cancelled here; drags that scroll
 * something (the tab row, a wide terminal) and vertical ones are left alone.
 */
function preventHistorySwipe(root: HTMLElement): void {
  let from: { x: number; y: number } | null = null
  root.addEventListener(
    'touchstart',
    (e) => {
      const t = e.touches[0]
      from = e.touches.length === 1 && t ? { x: t.clientX, y: t.clientY } : null
    },
    { passive: true, capture: true },
  )
  root.addEventListener(
    'touchmove',
    (e) => {
      const t = e.touches[0]
      if (!from || !t || !e.cancelable) return
      const dx = t.clientX - from.x
      const dy = t.clientY - from.y
      if (Math.abs(dx) <= Math.abs(dy)) return
      // Finger to the right shows what is on the left: scrolling toward the start.
      const dir: 1 | -1 = dx > 0 ? -1 : 1
      for (let el = e.target as HTMLElement | null; el && el !== root.parentElement; el = el.parentElement) {
        if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'hidden' && canScrollToward(el, dir)) return
      }
      e.preventDefault()
    },
    { passive: false, capture: true },
  )
}

/**
 * Wider than its pane by more than the few pixels a fitted terminal overhangs (its padding and
 * the last cell's rounding): only then does a sideways swipe belong to scrolling.
 */
const WIDE_SLACK_PX = 24

function isWide(el: HTMLElement): boolean {
  return el.scrollWidth > el.clientWidth + WIDE_SLACK_PX
}

/** Could `el` scroll further right (dir 1) or left (dir -1)? One pixel of slack for rounding. */
function canScrollToward(el: HTMLElement, dir: 1 | -1): boolean {
  return dir > 0 ? el.scrollLeft + el.clientWidth < el.scrollWidth - 1 : el.scrollLeft > 1
}

const SELECTION_KEY = 'tabula.phoneTab.'

/** The tab this phone showed, per workspace, so that a reload (online or not) comes back to it. */
function readSelection(workspace: string): string | null {
  try {
    return sessionStorage.getItem(SELECTION_KEY + workspace)
  } catch {
    return null
  }
}

function saveSelection(workspace: string, key: string): void {
  try {
    sessionStorage.setItem(SELECTION_KEY + workspace, key)
  } catch {
    // Storage disabled: a reload starts on the first tab.
  }
}

/** The number on a chip: how many other viewers have that tab on screen, and who they are. */
function watcherBadge(watchers: Array<{ viewer: { name: string; kind: string } }>): HTMLElement {
  const label = `${watchers.length} other${watchers.length === 1 ? '' : 's'} looking: ${watchers.map((w) => `${w.viewer.name} (${w.viewer.kind})`).join(', ')}`
  return h('span.dot', { title: label, 'aria-label': label, role: 'img', 'data-testid': 'watchers' }, String(watchers.length))
}
