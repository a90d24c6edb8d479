/**
 * The body under a tab strip: the active tab's terminal, who else is looking at it, who drives
 * its size (with "Drive from here"), and, for a tab whose process ended, its exit code with
 * Restart and Close.
 */
import type { Tab } from './sdk.js'
import { h } from './dom.js'
import type { ViewerSession } from './session.js'
import type { DriverState, TerminalView } from './terminal-view.js'

export interface PaneActions {
  restart(key: string): void
  close(key: string): void
  newTab(): void
}

export interface PaneBody {
  el: HTMLElement
  /** The terminal shown, if any (for focus and layout). */
  view: TerminalView | null
  dispose(): void
}

export function renderPaneBody(session: ViewerSession, tab: Tab | null, actions: PaneActions): PaneBody {
  if (!tab) {
    const el = h(
      'div.pane-body.empty',
      {},
      h('div.empty-state', {}, h('p', {}, 'No tabs here yet.'), h('button.primary', { onclick: () => actions.newTab() }, 'New terminal')),
    )
    return { el, view: null, dispose() {} }
  }
  const view = session.terminal(tab.key)
  const footer = h('div.pane-footer', { 'data-testid': 'pane-footer' })
  const overlay = tab.status === 'exited' ? renderExited(tab, view, actions) : null
  // The overlay covers the terminal alone, so a footer that wraps onto two lines stays usable.
  const lost = h('div.input-lost', { hidden: true, role: 'status', 'data-testid': 'input-lost' })
  const el = h('div.pane-body', { 'data-active-key': tab.key }, h('div.pane-stage', {}, view.el, overlay, lost), footer)

  const offline = session.guardOffline(el)
  // Typing while the daemon is unreachable: the keys are not delivered, and the pane says so.
  let lostChars = 0
  const showLost = () => {
    lost.hidden = session.daemonOnline
    if (session.daemonOnline) lostChars = 0
    lost.textContent = lostChars
      ? `Offline: ${lostChars} typed character${lostChars === 1 ? ' was' : 's were'} not sent`
      : 'Offline: typing here is not sent'
  }
  showLost()
  const offLost = view.onLostInput((chars) => {
    lostChars += chars
    showLost()
  })
  const offStatus = session.ws.on('status', showLost)
  const renderFooter = (state: DriverState) => {
    footer.replaceChildren(renderPresence(session, tab.key), renderDriver(session, view, state))
    offline.apply()
  }
  const offDriver = view.onDriver(renderFooter)
  const offExit = view.onExit(() => {
    const code = el.querySelector('.exit-code')
    if (code) code.textContent = exitText(view.exitCode)
  })
  return {
    el,
    view,
    dispose() {
      offDriver()
      offExit()
      offLost()
      offStatus.dispose()
      offline.dispose()
    },
  }
}

function renderPresence(session: ViewerSession, key: string): HTMLElement {
  const watchers = session.watchers(key)
  if (watchers.length === 0) return h('span.presence.alone', { 'data-testid': 'presence' }, 'Only you are looking')
  return h(
    'span.presence',
    { 'data-testid': 'presence' },
    'Also looking: ',
    ...watchers.map((w) => h('span.viewer-chip', { 'data-kind': w.viewer.kind }, `${w.viewer.name} · ${w.viewer.kind}`)),
  )
}

function renderDriver(session: ViewerSession, view: TerminalView, state: DriverState): HTMLElement {
  const size = `${state.cols}×${state.rows}`
  if (state.self) return h('span.driver.self', { 'data-testid': 'driver' }, `${size} · this viewer sets the size`)
  const who = state.activeViewer ? (session.driverName(state.activeViewer) ?? 'another viewer') : 'nobody'
  return h(
    'span.driver',
    { 'data-testid': 'driver' },
    `${size} · size set by ${who} `,
    h(
      'button.link',
      {
        'data-testid': 'drive-here',
        'data-needs-daemon': true,
        title: "Make this viewer's size the terminal's size",
        onclick: () => view.drive(),
      },
      'Drive from here',
    ),
  )
}

function renderExited(tab: Tab, view: TerminalView, actions: PaneActions): HTMLElement {
  const code = view.exitCode ?? tab.exitCode
  return h(
    'div.exited-overlay',
    { 'data-testid': 'exited' },
    h(
      'div.exited-card',
      {},
      h('p.exit-code', {}, exitText(code)),
      h(
        'div.actions',
        {},
        h('button.primary', { 'data-needs-daemon': true, onclick: () => actions.restart(tab.key) }, 'Restart'),
        h('button', { onclick: () => actions.close(tab.key) }, 'Close tab'),
      ),
    ),
  )
}

function exitText(code: number | null): string {
  return code === null ? 'The process has exited.' : `The process exited with code ${code}.`
}
