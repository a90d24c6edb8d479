/**
 * The desktop layout: the split tree of groups, each with its tab strip and terminal. It renders
 * from the SDK (`ws.layout()` for placement, `ws.tabs()` for what exists) on every change, and
 * keeps each tab's terminal alive across renders by moving its element rather than rebuilding it.
 */
import type { Tab } from './sdk.js'
import { h, toUnsubscribe, type Unsubscribe } from './dom.js'
import type { ViewerSession } from './session.js'
import { renderTabStrip, type TabElementCache } from './tab-strip.js'
import { renderPaneBody, type PaneBody } from './pane.js'
import { renderSplitTree } from './split-view.js'
import { reportError } from './errors.js'
import { confirmClose } from './close-confirm.js'
import { distinctTitles } from './titles.js'

export class DesktopView {
  readonly el: HTMLElement
  private readonly main: HTMLElement
  private focusedGroup: string | null = null
  private bodies: PaneBody[] = []
  private pendingRender = false
  private renderQueued = false
  private disposed = false
  private readonly tabElements: TabElementCache = new Map()
  private readonly subscriptions: Unsubscribe[] = []

  constructor(private readonly session: ViewerSession) {
    this.main = h('main.desktop', { 'data-testid': 'desktop' })
    this.el = this.main
    const ws = session.ws
    this.subscriptions.push(
      toUnsubscribe(ws.on('change', () => this.requestRender())),
      toUnsubscribe(ws.on('presence', () => this.requestRender())),
    )
    const flush = () => queueMicrotask(() => this.pendingRender && this.render())
    this.el.addEventListener('focusout', flush)
    this.el.addEventListener('dragend', flush)
    document.addEventListener('keydown', this.onKey, true)
    this.render()
  }

  /**
   * One render for a burst of events: a tab click publishes presence synchronously and then
   * renders itself, and a spawn fires both 'change' and 'presence'; any render in between
   * makes the queued one unnecessary.
   */
  private requestRender(): void {
    if (this.renderQueued) return
    this.renderQueued = true
    queueMicrotask(() => {
      if (this.renderQueued && !this.disposed) this.render()
    })
  }

  render(): void {
    this.renderQueued = false
    // Never pull the input from under someone typing a new title; render when they finish.
    // Nor the tab being dragged: the browser ends a drag whose source element leaves the page.
    if (this.main.querySelector('input.tab-rename, .tab.dragging')) {
      this.pendingRender = true
      return
    }
    this.pendingRender = false
    const ws = this.session.ws
    const tabs = distinctTitles(ws.tabs(), ws.sessions())
    const layout = ws.layout()
    this.session.prune(tabs)
    for (const key of this.tabElements.keys()) if (!tabs.some((t) => t.key === key)) this.tabElements.delete(key)
    const focusedKey = (document.activeElement?.closest('[data-term-key]') as HTMLElement | null)?.dataset.termKey

    const byGroup = new Map<string, Tab[]>(layout.groups.map((g) => [g, []]))
    for (const tab of tabs) (byGroup.get(tab.group) ?? byGroup.get(layout.groups[0]!))?.push(tab)
    for (const list of byGroup.values()) list.sort((a, b) => a.index - b.index)

    // This viewer's selection per group: its own, never shared (docs/sync.md, "Presence"); presence shows it.
    const active = ws.activeTabs()
    for (const body of this.bodies) body.dispose()
    this.bodies = []
    const tree = renderSplitTree(layout.root, {
      renderGroup: (group) => this.renderGroup(group, byGroup.get(group) ?? [], active[group] ?? null, layout.groups.length),
      resize: (sizes) => {
        for (const { id, size } of sizes) ws.resizePane(id, size)
      },
    })
    this.main.replaceChildren(tree)
    for (const body of this.bodies) body.view?.layout()
    if (focusedKey) this.session.existingTerminal(focusedKey)?.focus()
  }

  dispose(): void {
    this.disposed = true
    for (const off of this.subscriptions) off()
    for (const body of this.bodies) body.dispose()
    document.removeEventListener('keydown', this.onKey, true)
  }

  private renderGroup(group: string, tabs: Tab[], active: string | null, groupCount: number): HTMLElement {
    const ws = this.session.ws
    const activeTab = tabs.find((t) => t.key === active) ?? null
    const newTab = () => this.newTab(group)
    const strip = renderTabStrip(
      { group, tabs, active, watchers: (key) => this.session.watchers(key) },
      {
        select: (key) => this.select(group, key),
        close: (key) => this.close(key),
        rename: (key, title) => ws.rename(key, title),
        move: (key, toGroup, index) => {
          ws.move(key, { group: toGroup, index })
          this.select(toGroup, key)
        },
        newTab,
      },
      this.tabElements,
    )
    const body = renderPaneBody(this.session, activeTab, {
      restart: (key) => reportError(ws.restart(key), 'restart the session'),
      close: (key) => this.close(key),
      newTab,
    })
    this.bodies.push(body)
    const actions = h(
      'div.group-actions',
      {},
      iconButton('⇥ Split', 'Split right', () => ws.splitGroup(group, 'row'), 'split-right', true),
      iconButton('⇩ Split', 'Split down', () => ws.splitGroup(group, 'column'), 'split-down', true),
      groupCount > 1
        ? iconButton('✕', 'Close this group (its tabs move to another group)', () => ws.closeGroup(group), 'close-group')
        : null,
    )
    const el = h(
      'section.group' + (group === this.focusedGroup ? '.focused' : ''),
      { 'data-group': group },
      h('header.group-header', {}, strip, actions),
      body.el,
    )
    el.addEventListener('focusin', () => {
      if (this.focusedGroup === group) return
      this.focusedGroup = group
      for (const g of this.main.querySelectorAll('section.group.focused')) g.classList.remove('focused')
      el.classList.add('focused')
    })
    return el
  }

  private select(group: string, key: string): void {
    this.session.ws.setActiveTab(key)
    this.focusedGroup = group
    this.render()
    this.session.existingTerminal(key)?.focus()
  }

  /** Ends a tab's session, after asking when something still runs in it (close-confirm.ts). */
  private close(key: string): void {
    const tab = distinctTitles(this.session.ws.tabs(), this.session.ws.sessions()).find((t) => t.key === key)
    if (!tab) return
    void confirmClose(tab).then((yes) => {
      if (yes) reportError(this.session.ws.close(key), 'close the tab')
      else this.session.existingTerminal(key)?.focus()
    })
  }

  private newTab(group: string): void {
    const ws = this.session.ws
    const index = ws.tabs().filter((t) => t.group === group).length
    reportError(
      ws.spawn({ group, index }).then((key) => this.select(group, key)),
      'open a new tab',
    )
  }

  /** Alt+Shift+T new tab, Alt+Shift+W close, Alt+Shift+[ / ] previous / next tab. */
  private readonly onKey = (e: KeyboardEvent): void => {
    if (!e.altKey || !e.shiftKey) return
    const ws = this.session.ws
    const group = this.focusedGroup ?? ws.layout().groups[0]
    if (!group) return
    const tabs = ws
      .tabs()
      .filter((t) => t.group === group)
      .sort((a, b) => a.index - b.index)
    const current = tabs.findIndex((t) => t.key === ws.activeTabs()[group])
    const code = e.code
    if (code === 'KeyT') this.newTab(group)
    else if (code === 'KeyW' && current >= 0) this.close(tabs[current]!.key)
    else if ((code === 'BracketLeft' || code === 'BracketRight') && tabs.length > 0) {
      const next = (current + (code === 'BracketRight' ? 1 : -1) + tabs.length) % tabs.length
      this.select(group, tabs[next]!.key)
    } else return
    e.preventDefault()
    e.stopPropagation()
  }
}

/** A small button: `label` is what shows, `title` its accessible name (and tooltip). */
function iconButton(label: string, title: string, onclick: () => unknown, testid: string, labelled = false): HTMLElement {
  return h(
    'button.icon' + (labelled ? '.labelled' : ''),
    { title, 'aria-label': title, 'data-testid': testid, onclick: () => void onclick() },
    label,
  )
}
