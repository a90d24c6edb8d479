/**
 * A group's tab strip: select, close, rename in place (double-click or F2), drag to reorder or to
 * move into another group's strip. Every edit goes through the SDK (`move`, `rename`, `close`);
 * the strip re-renders from `ws.tabs()` when the change event comes back, so what it shows is
 * always the SDK's derived list, never a local guess.
 */
import type { PresenceEntry, Tab } from './sdk.js'
import { h } from './dom.js'

export const TAB_MIME = 'application/x-tabula-tab'

export interface TabStripActions {
  select(key: string): void
  close(key: string): void
  rename(key: string, title: string | null): void
  /** Drop `key` so that it ends at `index` among the group's other tabs. */
  move(key: string, group: string, index: number): void
  newTab(): void
}

export interface TabStripModel {
  group: string
  tabs: Tab[]
  active: string | null
  watchers(key: string): PresenceEntry[]
}

/**
 * Tab elements are reused across renders (keyed by tab key), so the element under the pointer
 * survives a re-render: a double-click whose first click selected the tab still lands on the
 * same element, and a drag keeps its source.
 */
export type TabElementCache = Map<string, HTMLElement>

export function renderTabStrip(model: TabStripModel, actions: TabStripActions, cache: TabElementCache): HTMLElement {
  const strip = h('div.tab-strip', { role: 'tablist', 'data-group': model.group })
  for (const tab of model.tabs) {
    let el = cache.get(tab.key)
    if (!el) cache.set(tab.key, (el = createTab(tab.key)))
    updateTab(el, tab, model, actions)
    strip.appendChild(el)
  }
  strip.appendChild(
    h(
      'button.tab-new',
      { title: 'New tab (Alt+Shift+T)', 'aria-label': 'New tab', 'data-testid': 'new-tab', onclick: () => actions.newTab() },
      '+',
    ),
  )
  enableDrop(strip, model, actions)
  return strip
}

/** What a tab element acts on: replaced at every render, read by the listeners. */
const bound = new WeakMap<HTMLElement, { tab: Tab; actions: TabStripActions }>()

function createTab(key: string): HTMLElement {
  const title = h('span.tab-title')
  const close = h('button.tab-close', { title: 'Close tab (ends its session)' }, '×')
  const el = h(
    'div.tab',
    { role: 'tab', draggable: 'true', 'data-tab-key': key },
    h('span.tab-kind', { 'aria-hidden': 'true' }),
    title,
    h('span.tab-watchers'),
    close,
  )
  const current = () => bound.get(el)!
  close.addEventListener('click', (e) => {
    e.stopPropagation()
    current().actions.close(key)
  })
  el.addEventListener('click', () => current().actions.select(key))
  el.addEventListener('dblclick', (e) => {
    e.preventDefault()
    startRename(title, current().tab, current().actions)
  })
  el.addEventListener('keydown', (e) => {
    if (e.target !== el) return
    const { tab, actions } = current()
    if (e.key === 'F2' || (e.key === 'Enter' && e.altKey)) {
      e.preventDefault()
      startRename(title, tab, actions)
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault()
      actions.select(key)
    } else if (e.key === 'Delete') {
      actions.close(key)
    } else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const sibling = (e.key === 'ArrowRight' ? el.nextElementSibling : el.previousElementSibling) as HTMLElement | null
      const next = sibling?.dataset.tabKey
      if (next) actions.select(next)
    }
  })
  el.addEventListener('dragstart', (e) => {
    e.dataTransfer?.setData(TAB_MIME, key)
    e.dataTransfer?.setData('text/plain', current().tab.title)
    if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move'
    el.classList.add('dragging')
  })
  el.addEventListener('dragend', () => el.classList.remove('dragging'))
  return el
}

function updateTab(el: HTMLElement, tab: Tab, model: TabStripModel, actions: TabStripActions): void {
  bound.set(el, { tab, actions })
  const active = tab.key === model.active
  const exited = tab.status === 'exited'
  el.classList.toggle('active', active)
  el.classList.toggle('exited', exited)
  el.tabIndex = active ? 0 : -1
  el.setAttribute('aria-selected', String(active))
  el.title = `${tab.title}\n${tab.key}${exited ? '\nexited' : ''}\nDouble-click or F2 to rename; drag to move`
  el.querySelector('.tab-kind')!.textContent = KIND_ICONS[tab.kind] ?? '›'
  const title = el.querySelector<HTMLElement>('.tab-title')!
  if (!title.querySelector('input')) title.textContent = tab.title
  el.querySelector('.tab-close')!.setAttribute('aria-label', `Close ${tab.title}`)
  const watchers = model.watchers(tab.key)
  el.querySelector('.tab-watchers')!.replaceWith(watchers.length ? renderWatcherDots(watchers) : h('span.tab-watchers'))
}

function renderWatcherDots(watchers: PresenceEntry[]): HTMLElement {
  const names = watchers.map((w) => `${w.viewer.name} (${w.viewer.kind})`).join(', ')
  return h(
    'span.tab-watchers',
    { title: `Also looking: ${names}`, 'aria-label': `Also looking: ${names}` },
    ...watchers.slice(0, 3).map((w) => h('span.dot', { 'data-kind': w.viewer.kind }, initial(w.viewer.kind))),
  )
}

function initial(kind: string): string {
  return (kind.charAt(0) || '?').toUpperCase()
}

/** Replaces the title with an input; Enter or leaving the field saves, Escape cancels. */
export function startRename(titleEl: HTMLElement, tab: Tab, actions: Pick<TabStripActions, 'rename'>): void {
  if (titleEl.querySelector('input')) return
  const input = h('input.tab-rename', { type: 'text', value: tab.title, 'aria-label': 'Tab title', maxlength: 200 })
  let done = false
  const finish = (save: boolean) => {
    if (done) return
    done = true
    const value = input.value.trim()
    input.remove()
    titleEl.textContent = save && value ? value : tab.title
    // An empty title clears the custom one, falling back to the program's own title.
    if (save && value !== tab.title) actions.rename(tab.key, value === '' ? null : value)
  }
  input.addEventListener('keydown', (e) => {
    e.stopPropagation()
    if (e.key === 'Enter') finish(true)
    else if (e.key === 'Escape') finish(false)
  })
  input.addEventListener('blur', () => finish(true))
  input.addEventListener('click', (e) => e.stopPropagation())
  input.addEventListener('dblclick', (e) => e.stopPropagation())
  titleEl.textContent = ''
  titleEl.appendChild(input)
  input.focus()
  input.select()
}

/** Drop anywhere on the strip: before the tab under the pointer's left half, else after it. */
function enableDrop(strip: HTMLElement, model: TabStripModel, actions: TabStripActions): void {
  const marker = h('div.drop-marker')
  const indexAt = (e: DragEvent, dragged: string | null): { index: number; before: Element | null } => {
    const tabs = [...strip.querySelectorAll<HTMLElement>('.tab')].filter((t) => t.dataset.tabKey !== dragged)
    for (let i = 0; i < tabs.length; i++) {
      const rect = tabs[i]!.getBoundingClientRect()
      if (e.clientX < rect.left + rect.width / 2) return { index: i, before: tabs[i]! }
    }
    return { index: tabs.length, before: strip.querySelector('.tab-new') }
  }
  let dragged: string | null = null
  strip.addEventListener('dragenter', (e) => {
    if (!e.dataTransfer?.types.includes(TAB_MIME)) return
    e.preventDefault()
  })
  strip.addEventListener('dragover', (e) => {
    if (!e.dataTransfer?.types.includes(TAB_MIME)) return
    e.preventDefault()
    e.dataTransfer.dropEffect = 'move'
    dragged = document.querySelector<HTMLElement>('.tab.dragging')?.dataset.tabKey ?? null
    const { before } = indexAt(e, dragged)
    strip.insertBefore(marker, before)
  })
  strip.addEventListener('dragleave', (e) => {
    if (!strip.contains(e.relatedTarget as Node | null)) marker.remove()
  })
  strip.addEventListener('drop', (e) => {
    const key = e.dataTransfer?.getData(TAB_MIME)
    marker.remove()
    if (!key) return
    e.preventDefault()
    const { index } = indexAt(e, key)
    actions.move(key, model.group, index)
  })
}

const KIND_ICONS: Record<string, string> = { terminal: '›', chat: '✦', heartbeat: '♥', inbox: '✉' }
