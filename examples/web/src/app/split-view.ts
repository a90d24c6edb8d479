/**
 * The split tree as nested flex boxes. A split's children share its length by their `size`
 * (a fraction; unsized children share what is left); the gutter between two children resizes
 * both, locally while dragging and through `ws.resizePane` when released.
 */
import type { PaneNode, PaneSplitNode } from '@tabula/protocol'
import { h } from './dom.js'

export interface SplitActions {
  renderGroup(group: string): HTMLElement
  resize(sizes: Array<{ id: string; size: number }>): void
}

export function renderSplitTree(node: PaneNode, actions: SplitActions): HTMLElement {
  if (node.type === 'group') return actions.renderGroup(node.id)
  return renderSplit(node, actions)
}

function renderSplit(node: PaneSplitNode, actions: SplitActions): HTMLElement {
  const el = h('div.split', { 'data-dir': node.dir, 'data-node': node.id })
  const shares = fractions(node.children)
  node.children.forEach((child, i) => {
    if (i > 0) el.appendChild(gutter(el, node, i, actions))
    const childEl = h('div.split-child', { 'data-node': child.id }, renderSplitTree(child, actions))
    childEl.style.flex = `${shares[i]} 1 0`
    el.appendChild(childEl)
  })
  return el
}

function fractions(children: PaneNode[]): number[] {
  const given = children.map((c) => (c.size && c.size > 0 && c.size < 1 ? c.size : null))
  const used = given.reduce<number>((sum, s) => sum + (s ?? 0), 0)
  const unsized = given.filter((s) => s === null).length
  const rest = unsized ? Math.max(0.05, 1 - used) / unsized : 0
  const raw = given.map((s) => s ?? rest)
  const total = raw.reduce((a, b) => a + b, 0)
  return raw.map((s) => s / total)
}

function gutter(splitEl: HTMLElement, node: PaneSplitNode, index: number, actions: SplitActions): HTMLElement {
  const row = node.dir === 'row'
  const el = h('div.gutter', {
    role: 'separator',
    'aria-orientation': row ? 'vertical' : 'horizontal',
    tabindex: 0,
    title: 'Drag to resize',
  })
  el.addEventListener('pointerdown', (down) => {
    down.preventDefault()
    el.setPointerCapture(down.pointerId)
    const children = [...splitEl.children].filter((c) => c.classList.contains('split-child')) as HTMLElement[]
    const before = children[index - 1]!
    const after = children[index]!
    const startA = row ? before.offsetWidth : before.offsetHeight
    const startB = row ? after.offsetWidth : after.offsetHeight
    const start = row ? down.clientX : down.clientY
    const shares = fractions(node.children)
    const pairShare = shares[index - 1]! + shares[index]!
    let a = shares[index - 1]!
    let b = shares[index]!
    const move = (e: PointerEvent) => {
      const delta = (row ? e.clientX : e.clientY) - start
      const min = 60
      const pa = Math.min(Math.max(startA + delta, min), startA + startB - min)
      a = (pa / (startA + startB)) * pairShare
      b = pairShare - a
      before.style.flex = `${a} 1 0`
      after.style.flex = `${b} 1 0`
    }
    const up = () => {
      el.removeEventListener('pointermove', move)
      el.removeEventListener('pointerup', up)
      el.removeEventListener('pointercancel', up)
      actions.resize([
        { id: node.children[index - 1]!.id, size: a },
        { id: node.children[index]!.id, size: b },
      ])
    }
    el.addEventListener('pointermove', move)
    el.addEventListener('pointerup', up)
    el.addEventListener('pointercancel', up)
  })
  return el
}
