/**
 * One tab's terminal on screen: an xterm.js terminal fed by an SDK TerminalHandle.
 *
 * Size policy (SPEC I5: one driver). Only the active viewer's size reaches the PTY, so:
 * - while this viewer drives, the terminal fits its pane and reports that size;
 * - while another viewer drives (or nobody does), it shows the PTY at the PTY's own size and
 *   never sends a resize, the way tmux shows a smaller client's session.
 * A desktop claims the driver role when nobody holds it; a phone only when the person taps
 * "Drive" (`autoDrive: false`), so merely looking at a tab from a phone never reflows it.
 */
import { Terminal } from '@xterm/xterm'
import { FitAddon } from '@xterm/addon-fit'
import { WebglAddon } from '@xterm/addon-webgl'
import type { TerminalHandle, Workspace } from './sdk.js'
import { h } from './dom.js'

export interface TerminalViewOptions {
  /** Claim the driver role when nobody holds it, and keep fitting while driving. */
  autoDrive: boolean
  /** Use xterm's DOM renderer even where WebGL works (`#renderer=dom`). */
  domRenderer: boolean
  fontSize: number
  /** Scale the font so a watched terminal's full width fits the pane (phones). */
  shrinkToFit: boolean
}

export interface DriverState {
  cols: number
  rows: number
  /** The live-channel viewer id that drives, or null. */
  activeViewer: string | null
  /** True when this viewer drives. */
  self: boolean
}

export class TerminalView {
  readonly el: HTMLDivElement
  private readonly host: HTMLDivElement
  private readonly term: Terminal
  private readonly fit = new FitAddon()
  private readonly handle: TerminalHandle
  private readonly observer: ResizeObserver
  private readonly listeners = new Set<(state: DriverState) => void>()
  private driver: DriverState = { cols: 80, rows: 24, activeViewer: null, self: false }
  /** Set by an explicit "Drive" tap; a phone sends sizes only after one. */
  private driveRequested = false
  private disposed = false
  /** The exit code the daemon reported, kept for the exited-tab overlay. */
  exitCode: number | null = null
  private readonly exitListeners = new Set<(code: number | null) => void>()
  private ctrlArmed = false
  /** Input typed before the first screen arrives (the SDK drops input until it is attached). */
  private early: string[] | null = []
  private readonly ctrlListeners = new Set<(armed: boolean) => void>()

  constructor(
    private readonly ws: Workspace,
    readonly key: string,
    private readonly viewerId: () => string | null,
    private readonly options: TerminalViewOptions,
  ) {
    this.host = h('div.term-host')
    this.el = h('div.term', { 'data-term-key': key }, this.host)
    this.term = new Terminal({
      fontSize: options.fontSize,
      fontFamily: '"JetBrains Mono", "Fira Code", "Cascadia Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace',
      cursorBlink: true,
      allowProposedApi: false,
      scrollback: 5000,
      theme: THEME,
    })
    this.term.loadAddon(this.fit)
    this.term.open(this.host)
    if (!options.domRenderer) this.tryWebgl()

    this.handle = ws.attach(key)
    this.handle.onData((data) => {
      this.term.write(data)
      if (this.early) {
        const typed = this.early.join('')
        this.early = null
        // After the SDK has marked the handle attached, which it does once this callback returns.
        if (typed) queueMicrotask(() => this.handle.write(typed))
      }
    })
    this.handle.onSize((size) => this.onSize(size))
    this.handle.onExit((code) => {
      this.exitCode = code
      for (const l of this.exitListeners) l(code)
    })
    this.term.onData((data) => this.send(data))
    this.term.onBinary((data) => this.send(data))

    this.observer = new ResizeObserver(() => this.layout())
    this.observer.observe(this.el)
  }

  /** Input from the keyboard or the key bar; a one-shot Ctrl applies to the next character. */
  send(data: string): void {
    if (this.ctrlArmed && data.length === 1) {
      const code = data.toUpperCase().charCodeAt(0)
      if (code >= 64 && code <= 95) data = String.fromCharCode(code - 64)
      this.setCtrl(false)
    }
    if (this.early) this.early.push(data)
    else this.handle.write(data)
  }

  setCtrl(armed: boolean): void {
    this.ctrlArmed = armed
    for (const l of this.ctrlListeners) l(armed)
  }

  get ctrl(): boolean {
    return this.ctrlArmed
  }

  onCtrl(listener: (armed: boolean) => void): () => void {
    this.ctrlListeners.add(listener)
    return () => this.ctrlListeners.delete(listener)
  }

  /** "Drive from here": this viewer's size becomes the PTY's. */
  drive(): void {
    this.driveRequested = true
    this.handle.setActive(true)
    this.fitAndReport()
  }

  focus(): void {
    this.term.focus()
  }

  get state(): DriverState {
    return this.driver
  }

  onDriver(listener: (state: DriverState) => void): () => void {
    this.listeners.add(listener)
    listener(this.driver)
    return () => this.listeners.delete(listener)
  }

  onExit(listener: (code: number | null) => void): () => void {
    this.exitListeners.add(listener)
    return () => this.exitListeners.delete(listener)
  }

  /** Call after the element was moved or shown: xterm measures only visible elements. */
  layout(): void {
    if (this.disposed || !this.el.isConnected || this.el.offsetWidth === 0) return
    if (this.mayReportSize()) this.fitAndReport()
    else this.showPtySize()
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.observer.disconnect()
    this.handle.dispose()
    this.term.dispose()
    this.el.remove()
  }

  private onSize(size: { cols: number; rows: number; activeViewer: string | null }): void {
    const self = size.activeViewer !== null && size.activeViewer === this.viewerId()
    const wasSelf = this.driver.self
    this.driver = { cols: size.cols, rows: size.rows, activeViewer: size.activeViewer, self }
    if (!self) this.driveRequested = false
    // Nobody drives: a desktop takes the wheel so the PTY matches a real window.
    if (size.activeViewer === null && this.options.autoDrive && this.el.isConnected) this.handle.setActive(true)
    if (self && !wasSelf) this.layout()
    else if (!self) this.showPtySize()
    for (const l of this.listeners) l(this.driver)
  }

  private mayReportSize(): boolean {
    return this.driver.self && (this.options.autoDrive || this.driveRequested)
  }

  private fitAndReport(): void {
    this.host.style.fontSize = ''
    if (this.term.options.fontSize !== this.options.fontSize) this.term.options.fontSize = this.options.fontSize
    const dims = this.fit.proposeDimensions()
    if (!dims || !Number.isFinite(dims.cols) || dims.cols < 2 || dims.rows < 1) return
    if (dims.cols !== this.term.cols || dims.rows !== this.term.rows) this.term.resize(dims.cols, dims.rows)
    if (dims.cols !== this.driver.cols || dims.rows !== this.driver.rows) this.handle.resize(dims.cols, dims.rows)
  }

  /** Watching: render the PTY at its own size; on a phone, shrink the font so the width fits. */
  private showPtySize(): void {
    const { cols, rows } = this.driver
    if (this.options.shrinkToFit && this.el.offsetWidth > 0) {
      const dims = this.fit.proposeDimensions()
      const current = this.term.options.fontSize ?? this.options.fontSize
      if (dims && dims.cols > 0) {
        const cellWidth = this.el.clientWidth / dims.cols
        const wanted = Math.max(MIN_WATCH_FONT, Math.min(this.options.fontSize, Math.floor((current * this.el.clientWidth) / (cellWidth * cols) * 10) / 10))
        if (Math.abs(wanted - current) >= 0.5) this.term.options.fontSize = wanted
      }
    }
    if (cols > 0 && rows > 0 && (cols !== this.term.cols || rows !== this.term.rows)) this.term.resize(cols, rows)
  }

  private tryWebgl(): void {
    try {
      const webgl = new WebglAddon()
      webgl.onContextLoss(() => webgl.dispose()) // xterm falls back to its DOM renderer
      this.term.loadAddon(webgl)
    } catch {
      // No WebGL (old GPU, headless browser, privacy settings): the DOM renderer is fine.
    }
  }
}

/** Below this a watched terminal scrolls sideways instead of shrinking further. */
const MIN_WATCH_FONT = 8

/** A calm dark palette with enough contrast for long sessions. */
const THEME = {
  background: '#0f1117',
  foreground: '#d7dae0',
  cursor: '#e6b450',
  cursorAccent: '#0f1117',
  selectionBackground: '#33415e',
  black: '#1c1f26',
  red: '#f07178',
  green: '#aad94c',
  yellow: '#e6b450',
  blue: '#59c2ff',
  magenta: '#d2a6ff',
  cyan: '#95e6cb',
  white: '#c7c9cc',
  brightBlack: '#5c6370',
  brightRed: '#ff8f8f',
  brightGreen: '#c2e77d',
  brightYellow: '#ffd173',
  brightBlue: '#73d0ff',
  brightMagenta: '#dfbfff',
  brightCyan: '#a6f0dc',
  brightWhite: '#ffffff',
}
