/** A few helpers so views read as markup rather than as DOM plumbing. */

type Child = Node | string | null | undefined | false
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>

/** `h('button.primary', {onclick}, 'Go')`: tag, optional classes after dots, attributes, children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  spec: K | `${K}.${string}`,
  attrs?: Attrs,
  ...children: Child[]
): HTMLElementTagNameMap[K]
/** Classes computed at run time: the element type is then only known to be an HTMLElement. */
export function h(spec: string, attrs?: Attrs, ...children: Child[]): HTMLElement
export function h(spec: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const [tag, ...classes] = spec.split('.') as [string, ...string[]]
  const el = document.createElement(tag)
  if (classes.length) el.className = classes.join(' ')
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value)
    else if (value === true) el.setAttribute(name, '')
    else el.setAttribute(name, String(value))
  }
  append(el, children)
  return el
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child)
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild)
}

/** An unsubscribe function, whatever shape a library's subscription returns. */
export type Unsubscribe = () => void

export function toUnsubscribe(sub: unknown): Unsubscribe {
  if (typeof sub === 'function') return sub as Unsubscribe
  if (sub && typeof (sub as { dispose?: unknown }).dispose === 'function') return () => (sub as { dispose(): void }).dispose()
  return () => {}
}
