/** Failed user actions become a short toast rather than a silent console line. */
import { h } from './dom.js'

export function reportError(result: unknown, action: string): void {
  Promise.resolve(result).catch((err: unknown) => showToast(`Could not ${action}: ${err instanceof Error ? err.message : String(err)}`))
}

export function showToast(message: string): void {
  let host = document.querySelector<HTMLElement>('.toasts')
  if (!host) {
    host = h('div.toasts', { role: 'alert' })
    document.body.appendChild(host)
  }
  const toast = h('div.toast', {}, message)
  host.appendChild(toast)
  setTimeout(() => toast.remove(), 6000)
}
