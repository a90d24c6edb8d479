/**
 * Closing a tab ends its session and every program in it, for every viewer, and that cannot be
 * undone; so, like VS Code's `terminal.integrated.confirmOnKill`, a running session asks first
 * (docs/viewers.md, "Closing a tab"). A tab whose program has exited closes at once: nothing runs
 * there any more. "Don't ask again" is remembered by this browser.
 */
import type { Tab } from './sdk.js'
import { h } from './dom.js'

const NO_CONFIRM_KEY = 'tabula.closeWithoutAsking'

function askingDisabled(): boolean {
  try {
    return localStorage.getItem(NO_CONFIRM_KEY) === '1'
  } catch {
    return false
  }
}

/** Resolves to true when the tab should be closed: at once for an exited one, else after a yes. */
export function confirmClose(tab: Pick<Tab, 'title' | 'status'>): Promise<boolean> {
  if (tab.status === 'exited' || askingDisabled()) return Promise.resolve(true)
  return new Promise((resolve) => {
    const remember = h('input', { type: 'checkbox', 'data-testid': 'close-remember' })
    const yes = h('button.primary', { type: 'button', 'data-testid': 'close-confirm' }, 'Close tab')
    const no = h('button', { type: 'button' }, 'Cancel')
    const dialog = h(
      'dialog.confirm',
      { 'data-testid': 'close-dialog', 'aria-labelledby': 'close-dialog-title' },
      h('h2', { id: 'close-dialog-title' }, `Close “${tab.title}”?`),
      h('p', {}, 'This ends its session and the programs running in it, for every viewer.'),
      h('label.remember', {}, remember, " Don't ask again in this browser"),
      h('div.actions', {}, no, yes),
    )
    const done = (answer: boolean) => {
      if (answer && remember.checked) {
        try {
          localStorage.setItem(NO_CONFIRM_KEY, '1')
        } catch {
          // Storage disabled: it simply asks again next time.
        }
      }
      dialog.close()
      dialog.remove()
      resolve(answer)
    }
    yes.addEventListener('click', () => done(true))
    no.addEventListener('click', () => done(false))
    // Escape (the dialog's own cancel), or a click on the backdrop: keep the tab.
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault()
      done(false)
    })
    dialog.addEventListener('click', (e) => e.target === dialog && done(false))
    // Keys typed here must not reach the terminal or the page's shortcuts.
    dialog.addEventListener('keydown', (e) => e.stopPropagation())
    document.body.appendChild(dialog)
    dialog.showModal()
    yes.focus()
  })
}
