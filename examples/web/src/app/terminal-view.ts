/**
 * One tab's terminal on screen: an xterm.js terminal fed by an SDK TerminalHandle.
 *
 * Size policy (I5, one driver: docs/architecture.md "Invariants"). Only the active viewer's size
 * reaches the PTY, so:
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
import { Listeners } from '@tabula/protocol'

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
  private readonly driverListeners = new Listeners<[state: DriverState]>()
  private driver: DriverState = { cols: 80, rows: 24, activeViewer: null, self: false }
  /** Set by an explicit "Drive" tap; a phone sends sizes only after one. */
  private driveRequested = false
  private disposed = false
  /** The exit code the daemon reported, kept for the exited-tab overlay. */
  exitCode: number | null = null
  private readonly exitListeners = new Listeners<[code: number | null]>()
  private ctrlArmed = false
  private readonly ctrlListeners = new Listeners<[armed: boolean]>()
  private readonly lostInputListeners = new Listeners<[chars: number]>()

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
    // WebGL is loaded on the first layout, once the element is in the page and visible: loaded
    // into a detached element it reads the pixel ratio and cell size as nothing, and at a pixel
    // ratio of 2 it then draws nothing at all.
    this.el.dataset.renderer = 'dom'

    // Screen first: the screen shows at once, the scrollback follows; xterm.js's reset clears
    // the first one whole (docs/viewers.md, "Attaching").
    this.handle = ws.attach(key, { screenFirst: true })
    // Bytes straight into xterm.js (it decodes UTF-8 itself): no decode in the SDK.
    this.handle.onBytes((data) => {
      this.term.write(data, () => this.revealCursorSoon())
    })
    this.handle.onSize((size) => this.onSize(size))
    this.handle.onExit((code) => {
      this.exitCode = code
      this.exitListeners.emit(code)
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
    // With the daemon unreachable the input goes nowhere (as in ssh); say so rather than hide it.
    if (this.ws.status.daemon === 'offline') this.lostInputListeners.emit(data.length)
    this.handle.write(data)
  }

  /** Called with the number of characters typed while the daemon was unreachable (not sent). */
  onLostInput(listener: (chars: number) => void): () => void {
    const subscription = this.lostInputListeners.add(listener)
    return () => subscription.dispose()
  }

  setCtrl(armed: boolean): void {
    this.ctrlArmed = armed
    this.ctrlListeners.emit(armed)
  }

  get ctrl(): boolean {
    return this.ctrlArmed
  }

  onCtrl(listener: (armed: boolean) => void): () => void {
    const subscription = this.ctrlListeners.add(listener)
    return () => subscription.dispose()
  }

  /** "Drive from here": this viewer's size becomes the PTY's. */
  drive(): void {
    this.driveRequested = true
    this.handle.setActive(true)
    this.fitAndReport()
    // Already active (the phone typed) at the same size: the daemon has nothing to announce.
    this.driverListeners.emit(this.driver)
  }

  /**
   * Whether this viewer's size reaches the PTY while it is the active one. False for a phone that
   * only typed: the daemon made it active, but it sent no size, so the PTY keeps the size the
   * previous driver gave it.
   */
  get sendsSize(): boolean {
    return this.options.autoDrive || this.driveRequested
  }

  focus(): void {
    this.term.focus()
  }

  get state(): DriverState {
    return this.driver
  }

  onDriver(listener: (state: DriverState) => void): () => void {
    const subscription = this.driverListeners.add(listener)
    listener(this.driver)
    return () => subscription.dispose()
  }

  onExit(listener: (code: number | null) => void): () => void {
    const subscription = this.exitListeners.add(listener)
    return () => subscription.dispose()
  }

  /** Call after the element was moved or shown: xterm measures only visible elements. */
  layout(): void {
    if (this.disposed || !this.el.isConnected || this.el.offsetWidth === 0) return
    if (!this.webglTried && !this.options.domRenderer) {
      this.webglTried = true
      this.tryWebgl()
    }
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
    this.driverListeners.emit(this.driver)
  }

  private mayReportSize(): boolean {
    return this.driver.self && (this.options.autoDrive || this.driveRequested)
  }

  private fitAndReport(): void {
    this.host.style.fontSize = ''
    this.el.scrollTo(0, 0)
    if (this.term.options.fontSize !== this.options.fontSize) this.setFontSize(this.options.fontSize)
    const dims = this.fit.proposeDimensions()
    if (!dims || !Number.isFinite(dims.cols) || dims.cols < 2 || dims.rows < 1) return
    if (dims.cols !== this.term.cols || dims.rows !== this.term.rows) this.term.resize(dims.cols, dims.rows)
    if (dims.cols !== this.driver.cols || dims.rows !== this.driver.rows) this.handle.resize(dims.cols, dims.rows)
  }

  /**
   * Watching: render the PTY at its own size. On a phone, shrink the font so the whole terminal
   * fits the pane (down to MIN_WATCH_FONT); what still does not fit scrolls inside `.term`, in both
   * directions, following the cursor, with whole rows at the top.
   */
  private showPtySize(): void {
    const { cols, rows } = this.driver
    if (this.options.shrinkToFit && this.el.offsetWidth > 0) {
      const dims = this.fit.proposeDimensions()
      const current = this.term.options.fontSize ?? this.options.fontSize
      if (dims && dims.cols > 0 && dims.rows > 0 && cols > 0 && rows > 0) {
        // proposeDimensions says how many cells fit at the current font; scale to fit cols × rows.
        const scale = Math.min(dims.cols / cols, dims.rows / rows)
        const wanted = Math.max(MIN_WATCH_FONT, Math.min(this.options.fontSize, Math.floor(current * scale * 10) / 10))
        if (Math.abs(wanted - current) >= 0.5) this.setFontSize(wanted)
      }
    }
    if (cols > 0 && rows > 0 && (cols !== this.term.cols || rows !== this.term.rows)) this.term.resize(cols, rows)
    this.revealCursorSoon(true)
  }

  private revealPending = false
  private lastCursor = ''

  /** After output (or a new size) while watching on a phone: keep the cursor on screen. */
  private revealCursorSoon(force = false): void {
    if (!this.options.shrinkToFit || this.revealPending) return
    if (force) this.lastCursor = ''
    this.revealPending = true
    requestAnimationFrame(() => {
      this.revealPending = false
      if (!this.disposed) this.revealCursor()
    })
  }

  private revealCursor(): void {
    const el = this.el
    const screen = this.host.querySelector<HTMLElement>('.xterm-screen')
    if (!screen || this.mayReportSize() || !el.isConnected) return
    const buffer = this.term.buffer.active
    const cursorRow = buffer.cursorY + buffer.baseY - buffer.viewportY
    const cursor = `${buffer.cursorX},${cursorRow}`
    if (cursor === this.lastCursor) return // the person may have scrolled: leave them there
    this.lastCursor = cursor
    const cellW = screen.offsetWidth / this.term.cols
    const cellH = screen.offsetHeight / this.term.rows
    if (!(cellW > 0 && cellH > 0)) return
    const box = el.getBoundingClientRect()
    const at = screen.getBoundingClientRect()
    // The screen's position inside the scrolled content of `.term`.
    const left0 = at.left - box.left + el.scrollLeft - el.clientLeft
    const top0 = at.top - box.top + el.scrollTop - el.clientTop
    const tall = screen.offsetHeight > el.clientHeight
    // Room to scroll one row further than the last, so the top edge can always sit on a row boundary.
    screen.style.marginBottom = tall ? `${cellH}px` : ''
    if (tall) {
      const rowTop = top0 + cursorRow * cellH
      let top = el.scrollTop
      if (rowTop < top) top = rowTop
      else if (rowTop + cellH > top + el.clientHeight) top = rowTop + cellH - el.clientHeight
      // Whole rows at the top edge: move down onto the next row boundary (the cursor stays in view,
      // as its own row starts on a boundary at or below it).
      el.scrollTop = Math.max(0, top0 + Math.ceil((top - top0) / cellH - 0.01) * cellH)
    } else el.scrollTop = 0
    if (el.scrollWidth > el.clientWidth + 1) {
      const colLeft = left0 + buffer.cursorX * cellW
      // Anchored left; scrolled sideways only as far as it takes to show the cursor's column.
      if (colLeft + cellW > el.scrollLeft + el.clientWidth) el.scrollLeft = Math.max(0, colLeft + 2 * cellW - el.clientWidth)
      else if (colLeft < el.scrollLeft) el.scrollLeft = Math.max(0, colLeft - 4 * cellW)
      if (colLeft + cellW <= el.clientWidth) el.scrollLeft = 0
    } else el.scrollLeft = 0
  }

  private setFontSize(size: number): void {
    this.term.options.fontSize = size
    // xterm's WebGL renderer keeps drawing with the old cell size after a font change (the text
    // comes out at the old size, clipped to the new canvas); a fresh renderer measures again.
    if (this.webgl) {
      this.webgl.dispose()
      this.webgl = null
      this.tryWebgl()
    }
  }

  private webgl: WebglAddon | null = null
  private webglTried = false

  private tryWebgl(): void {
    try {
      const webgl = new WebglAddon()
      webgl.onContextLoss(() => {
        webgl.dispose() // xterm falls back to its DOM renderer
        if (this.webgl === webgl) this.webgl = null
        this.el.dataset.renderer = 'dom'
      })
      this.term.loadAddon(webgl)
      this.webgl = webgl
      this.el.dataset.renderer = 'webgl'
    } catch {
      // No WebGL (old GPU, headless browser, privacy settings): the DOM renderer is fine.
    }
  }
}

/** Below this a watched terminal scrolls (sideways, or down) instead of shrinking further. */
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
