/**
 * The screen's snapshot: the whole state of a headless xterm written as VT sequences, so that a
 * fresh terminal of the same size that is reset (`ESC c`) and then fed the snapshot is the
 * terminal that saw every byte (docs/daemon.md, "Snapshots"). That is more than the visible
 * text: the scrollback with its wrapped rows, every cell's attributes (underline style and
 * colour, hyperlinks, protection), blank cells as blank (not spaces, which reflow differently),
 * the cursor with its pending wrap, visibility and shape, the pen, the saved cursor of each
 * screen, tab stops, the scroll region, character sets, the modes and the alternate screen.
 *
 * It reads xterm's buffers directly (the cells are a Uint32Array of [content, fg, bg] per cell),
 * through a shape check like xterm-internals.ts: `serializer(term)` is null when the pinned
 * @xterm/headless no longer has these internals (test/screen/snapshot.test.ts fails then).
 *
 * A deep scrollback is not in xterm's buffer: rows that leave it are written once, as they
 * leave, by `compactRow` into the screen's compact history (history.ts, compact.ts), and a
 * snapshot writes that text as it is, then xterm's own rows. An attach therefore serializes only
 * the screen and a short tail, whatever the length of the history.
 */
import type { Terminal } from '@xterm/headless'
import { type CompactHistory, Entry } from './history.js'

import {
  CELL_SIZE,
  HAS_CONTENT,
  WIDTH_SHIFT,
  CM_MASK,
  COLOR_MASK,
  FG_UNDERLINE,
  BG_HAS_EXTENDED,
  UNDERLINE_SINGLE,
  type Line,
  type Buf,
  type Core,
  coreOf,
} from './xterm-buffer.js'
import { CLOSE_LINK, detached, forget, linkOf, Pen } from './pen.js'
import { isSplitWide, splitWide, isCutWide, cellText, type RowState, ANY_FILL, EITHER, writeRow } from './serialize-row.js'

export { coreOf } from './xterm-buffer.js'

// ── charsets: xterm keeps the mapping objects; find each one's designator once ───────────────
let designators: Map<unknown, string> | null = null

function designatorOf(charset: unknown, term: Terminal): string {
  if (charset === undefined || charset === null) return 'B'
  if (!designators) {
    designators = new Map()
    const TerminalClass = term.constructor as new (o: object) => Terminal
    const probe = new TerminalClass({ cols: 2, rows: 1, allowProposedApi: true, logLevel: 'off' })
    const probeCore = coreOf(probe)
    if (probeCore) {
      const input = probeCore._inputHandler as unknown as { parse(d: Uint8Array): void }
      for (let code = 0x30; code < 0x7f; code++) {
        input.parse(new Uint8Array([0x1b, 0x28, code]))
        const mapping = probeCore._charsetService._charsets[0]
        if (mapping && !designators.has(mapping)) designators.set(mapping, String.fromCharCode(code))
      }
    }
    probe.dispose()
  }
  return designators.get(charset) ?? 'B'
}

// ── the whole terminal ───────────────────────────────────────────────────────────────────────

/**
 * The normal buffer's compact scrollback (history.ts) with what the serializer needs about it:
 * the state the last stored row leaves for the first row still in xterm's buffer, and the
 * buffer's true capacity (rows + scrollback, as a terminal that kept every row would have it).
 */
export interface Compacted {
  history: CompactHistory
  /** The state after the last stored row (the entry state of xterm's first row). */
  exit: Omit<RowState, 'pen' | 'beforeWrap' | 'split' | 'headAt'>
  /** Bg of the wide character the last stored row moved into xterm's first row. */
  insideBg: number
  /** The head of xterm's first row (what the last stored row printed into it). */
  tailHead: string
  /** Rows the normal buffer would hold at most: rows + the scrollback limit. */
  capacity(): number
  /** The pen compactRow writes with (kept, with its cache of SGR sequences, from row to row). */
  pen?: Pen
}

export function emptyExit(): Compacted['exit'] {
  return { pendingWrap: false, fill: 0, placeholder: null, inside: false, startAt: 0, eraseHead: false }
}

/**
 * Stores `line`, the oldest row of xterm's buffer, as it leaves it (`next` is the row below, still
 * in the buffer): the text that writes it after the rows stored before it, written so that it
 * holds wherever in a fresh terminal it lands (at the bottom, where a wrap scrolls in a row in the
 * pen's colour, or above it, where the row is already blank).
 */
export function compactRow(core: Core, compacted: Compacted, line: Line, next: Line | null, cols: number, rows: number): void {
  const history = compacted.history
  const pen = (compacted.pen ??= new Pen(core))
  pen.fg = pen.bg = pen.ext = 0
  pen.link = ''
  const state: RowState = { pen, ...compacted.exit, beforeWrap: '', split: true, headAt: -1 }
  let kind: Entry
  let head = ''
  if (history.count === 0) {
    // The first stored row: above it the snapshot writes a stand-in row when it continues one.
    kind = line.isWrapped ? Entry.Wrap : Entry.Line
    Object.assign(state, emptyExit(), { pendingWrap: line.isWrapped })
    if (!line.isWrapped) head = '\r\n'
  } else if (!line.isWrapped || !(state.pendingWrap || state.inside)) {
    kind = Entry.Line
    head = '\r\n'
    Object.assign(state, emptyExit())
  } else if (state.inside) {
    kind = Entry.Inside
    head = compacted.tailHead
    state.fill = compacted.insideBg ? ANY_FILL : 0
  } else {
    kind = Entry.Wrap
    state.fill = 0
  }
  const wrapsOn = next?.isWrapped ? next : null
  let body = writeRow(line, cols, wrapsOn, state, EITHER, rows > 1)
  let tailHead = ''
  let insideBg = 0
  if (state.inside) {
    insideBg = pen.bg & (CM_MASK | COLOR_MASK)
    tailHead = body.slice(state.headAt) + pen.reset()
    body = body.slice(0, state.headAt)
  } else body += pen.reset()
  history.push(kind, head, body)
  const { pen: _, beforeWrap: __, split: ___, headAt: ____, ...exit } = state
  compacted.exit = exit
  compacted.insideBg = insideBg
  compacted.tailHead = tailHead
}

/**
 * What completes the last stored row when the stored rows are written alone (compact.ts rebuilds
 * their cells that way): the wide character it moved into the next row, or the blank its stand-in
 * for the pending wrap stands for (written by the next row otherwise).
 */
export function historyEnd(core: Core, compacted: Compacted, cols: number): string {
  if (compacted.tailHead) return compacted.tailHead
  const placeholder = compacted.exit.placeholder
  if (placeholder === null) return ''
  if (typeof placeholder === 'string') return placeholder + '\x1b[0m' + CLOSE_LINK
  const pen = new Pen(core)
  return `\x1b[${cols}G` + pen.set(0, placeholder, 0, '') + '\x1b[X' + pen.reset()
}

export interface Serializer {
  /**
   * `screenOnly`: the normal buffer's screen rows without the scrollback above them, the rest as
   * in the whole snapshot (a screen-first attach, docs/protocol.md "Screen first").
   */
  serialize(screenOnly?: boolean): string
}

export function serializer(term: Terminal, compacted: Compacted | null = null): Serializer | null {
  const core = coreOf(term)
  if (!core) return null
  return { serialize: (screenOnly = false) => serialize(term, core, compacted, screenOnly) }
}

function serialize(term: Terminal, core: Core, compacted: Compacted | null, screenOnly: boolean): string {
  const cols = term.cols
  const rows = term.rows
  const buffers = core.buffers
  const altActive = buffers.active === buffers.alt
  const pen = new Pen(core)
  const parts: string[] = []

  // The normal screen with its scrollback: the compact rows first, then xterm's own. Screen only:
  // its rows alone, as a buffer that never fills (a first row that continues one above it gets a
  // stand-in row, deleted or cleared out of the scrollback, never kept there).
  const stored = screenOnly ? 0 : (compacted?.history.count ?? 0)
  if (screenOnly) writeBuffer(parts, screenRows(buffers.normal, rows), cols, rows, pen, null, Infinity)
  else writeBuffer(parts, buffers.normal, cols, rows, pen, compacted?.history.count ? compacted : null, compacted?.capacity())
  // The alternate screen's saved cursor and the charsets, before it is entered (charsetFromNormal).
  const early = charsetFromNormal(core)
  if ((!altActive || early) && savedDiffers(buffers.alt)) {
    // The alternate screen's saved cursor outlives its contents (cleared on leaving it).
    parts.push(pen.reset(), '\x1b[?1047h')
    writeSaved(parts, buffers.alt, cols, rows, pen, term)
    parts.push('\x1b[?1047l')
  }
  writeScreenState(parts, buffers.normal, cols, rows, pen, term, core, !altActive, stored)
  if (early) {
    writeCharsets(parts, core, term)
    parts.push('\x1b8')
    forget(pen)
  }
  if (altActive) {
    parts.push(pen.reset(), '\x1b[?1047h\x1b[H')
    const scrolled = scrolledCursor(buffers.alt, cols)
    const alt = screenRows(buffers.alt, rows)
    writeBuffer(parts, scrolled ? shifted(alt, scrolled) : alt, cols, rows, pen, null)
    writeScreenState(parts, buffers.alt, cols, rows, pen, term, core, true, 0, scrolled, early)
  }
  return parts.join('')
}

function writeBuffer(
  parts: string[],
  buf: Buf,
  cols: number,
  rows: number,
  pen: Pen,
  compacted: Compacted | null,
  capacity = buf.lines.maxLength,
): void {
  const lines = buf.lines
  const count = lines.length
  const stored = compacted ? compacted.history.count : 0
  const total = stored + count
  // The first row can be marked wrapped with nothing above it (its row was trimmed, or deleted).
  // A row written above it makes the first print wrap; then that row goes: trimmed the same way
  // when the buffer is full, else deleted (DL) at the end if the rows still fit on the screen.
  const leading = compacted ? compacted.history.firstKind !== Entry.Line : lines.get(0)!.isWrapped
  const trimLeading = leading && total === capacity
  // The last row that is not blank; a buffer with scrollback is written to its end regardless,
  // so the fresh terminal scrolls the same number of rows into its scrollback.
  let last = count - 1
  if (total <= rows && !trimLeading) {
    while (last > 0 && isBlank(lines.get(last)!, cols)) last--
  }
  const deleteLeading = leading && !trimLeading && stored + last + 1 < rows
  // Else, once it has scrolled into the scrollback, alone there, ED 3 clears it.
  const clearLeading = leading && !trimLeading && !deleteLeading
  const state: RowState = {
    pen,
    pendingWrap: false,
    fill: 0,
    placeholder: null,
    inside: false,
    startAt: 0,
    eraseHead: false,
    beforeWrap: '',
  }
  // Rows created so far in the fresh terminal beyond its first (each one past `rows` scrolls).
  let created = 0
  if (leading) {
    // A stand-in row above: its last column (or the cell before it, for a wide character the
    // first row's head moves in) in the pending wrap.
    const inside = compacted?.history.firstKind === Entry.Inside
    parts.push(pen.reset(), ' '.repeat(inside ? cols - 1 : cols))
    state.pendingWrap = !inside
  }
  if (compacted) {
    // The stored rows as they are; each ends with the default pen.
    compacted.history.write(parts, clearLeading && rows - 1 < stored ? rows - 1 : -1, '\x1b[3J')
    created = stored - 1 + (leading ? 1 : 0)
    Object.assign(state, compacted.exit)
    if (state.inside) state.fill = created + 1 >= rows ? compacted.insideBg : 0
    parts.push(compacted.tailHead)
  }
  for (let i = 0; i <= last; i++) {
    const row = stored + i
    const line = lines.get(i)!
    const next = i < last ? lines.get(i + 1)! : null
    const wrapsOn = next?.isWrapped ? next : null
    if (row > 0 || leading) {
      created++
      if (!line.isWrapped || !(state.pendingWrap || state.inside)) {
        parts.push(pen.reset(), '\r\n')
        state.pendingWrap = false
        state.placeholder = null
        state.startAt = 0
        state.inside = false
        state.eraseHead = false
        state.fill = 0
      } else if (!state.inside && created < rows) state.fill = 0
      // (After a wide character moved here, `fill` was set when it was printed.)
    }
    const atBottom = created >= rows
    // The row written above the first scrolls out, alone, when this row is created: clear it
    // before the next row is.
    if (clearLeading && row === rows - 1) state.beforeWrap = '\x1b[3J'
    state.aboveGoes = leading && row === 0
    parts.push(writeRow(line, cols, wrapsOn, state, atBottom, rows > 1))
    if (state.inside) state.fill = created + 1 >= rows ? pen.bg & (CM_MASK | COLOR_MASK) : 0
    if (state.beforeWrap) parts.push(state.beforeWrap)
    state.beforeWrap = ''
  }
  if (deleteLeading) parts.push(pen.reset(), '\x1b[H\x1b[M')
}

function isBlank(line: Line, cols: number): boolean {
  const data = line._data
  if (line.isWrapped) return false
  for (let c = 0; c < cols; c++) {
    const at = c * CELL_SIZE
    if ((data[at]! & HAS_CONTENT) !== 0 || data[at + 1] !== 0 || (data[at + 2]! & ~BG_HAS_EXTENDED) !== 0) return false
  }
  return true
}

/** `stored`: rows of the buffer kept outside xterm (compact.ts), above which xterm counts savedY. */
function savedDiffers(buf: Buf, stored = 0): boolean {
  return (
    buf.savedX !== 0 ||
    buf.savedY + stored !== 0 ||
    buf.savedCurAttrData.fg !== 0 ||
    (buf.savedCurAttrData.bg & ~BG_HAS_EXTENDED) !== 0 ||
    buf.savedCharset !== undefined
  )
}

/** The saved cursor (DECSC) of the active buffer: position, fg/bg and the charset in use. */
function writeSaved(parts: string[], buf: Buf, cols: number, rows: number, pen: Pen, term: Terminal, stored = 0): void {
  if (!savedDiffers(buf, stored)) return
  const y = Math.min(rows - 1, Math.max(0, buf.savedY - buf.ybase))
  const x = Math.min(cols - 1, buf.savedX)
  parts.push(`\x1b[${y + 1};${x + 1}H`)
  const saved = buf.savedCurAttrData
  parts.push(pen.set(saved.fg, saved.bg, saved.fg & FG_UNDERLINE ? UNDERLINE_SINGLE << 26 : 0, ''))
  const designator = designatorOf(buf.savedCharset, term)
  if (designator !== 'B') parts.push(`\x1b(${designator}`)
  parts.push('\x1b7')
  if (designator !== 'B') parts.push('\x1b(B')
}

function writeTabs(parts: string[], buf: Buf, cols: number, width: number): void {
  let standard = true
  for (let c = 0; c < cols && standard; c++) if (!!buf.tabs[c] !== (c % width === 0)) standard = false
  if (standard) return
  parts.push('\x1b[3g')
  for (let c = 0; c < cols; c++) if (buf.tabs[c]) parts.push(`\x1b[${c + 1}G\x1bH`)
}

/**
 * The cursor in the pending wrap of row `y` (counted from the top of the scroll region in origin
 * mode) of the alternate screen: its last cell printed again, which leaves the cursor there (a
 * split wide cell before it: both, see splitWide). A blank last cell cannot be printed again; the
 * cursor is then left in the last column.
 */
function pendingWrapByPrint(parts: string[], line: Line, cols: number, y: number, pen: Pen, core: Core): void {
  const data = line._data
  const at = (n: number) => `\x1b[${y + 1};${n}H`
  const split = isSplitWide(data, cols - 2, cols) ? detached(pen, () => splitWide(core, line, cols - 2, cols, pen, 0, at)) : null
  if (split) {
    // Both cells again when that leaves the pending wrap; else a print would blank the pair.
    parts.push(split.x === cols ? split.out : at(cols))
    forget(pen)
    return
  }
  let c = cols - 1
  if (data[c * CELL_SIZE]! >>> WIDTH_SHIFT === 0 && c > 0) c--
  const content = data[c * CELL_SIZE]!
  parts.push(`\x1b[${y + 1};${c + 1}H`)
  if (content & HAS_CONTENT && !isCutWide(data, c, cols)) parts.push(pen.cell(line, c), cellText(line, c, content))
}

/** Whether printing the last cell of `line` again leaves the pending wrap with the row unchanged. */
function reprintable(line: Line, cols: number): boolean {
  const data = line._data
  if (isSplitWide(data, cols - 2, cols)) return false
  let c = cols - 1
  if (data[c * CELL_SIZE]! >>> WIDTH_SHIFT === 0 && c > 0) c--
  return (data[c * CELL_SIZE]! & HAS_CONTENT) !== 0 && !isCutWide(data, c, cols)
}

/** The bg of a row that is blank throughout the way an erase makes it (no fg, no flags), or null. */
function erasedBg(line: Line, cols: number): number | null {
  const data = line._data
  const bg = data[2]! & ~BG_HAS_EXTENDED
  if ((bg & ~(CM_MASK | COLOR_MASK)) !== 0) return null
  for (let c = 0; c < cols; c++) {
    const at = c * CELL_SIZE
    if (data[at] !== 1 << WIDTH_SHIFT || data[at + 1] !== 0 || (data[at + 2]! & ~BG_HAS_EXTENDED) !== bg) return null
  }
  return bg
}

/** The bg of a row SD or SU could have scrolled in (erased, and not wrapped), or null. */
const scrolledInBg = (line: Line, cols: number): number | null => (line.isWrapped ? null : erasedBg(line, cols))

/**
 * The alternate screen's cursor in the pending wrap of a row whose last cell cannot be printed
 * again (blank, say): on that screen only a print leaves the cursor there, and a later SD or SU
 * (which do not move the cursor) brought the row under it. The snapshot does the same: the rows
 * of the scroll region are written one row off, the cursor is put in the pending wrap of the row
 * that then holds the next (or previous) row by printing its last cell again, and SD (SU) moves
 * them into place, scrolling in the region's top (bottom) row, which must be blank as they make it.
 */
interface Scrolled {
  /** 'T' (SD: the region's rows written one row up) or 'S' (SU: one row down). */
  final: 'T' | 'S'
  /** The bg of the row scrolled in. */
  bg: number
}

function scrolledCursor(buf: Buf, cols: number): Scrolled | null {
  if (buf.x < cols) return null
  const { y, scrollTop: top, scrollBottom: bottom } = buf
  const row = (i: number) => buf.lines.get(buf.ybase + i)!
  if (y < top || y > bottom || reprintable(row(y), cols) || erasedBg(row(y), cols) !== null) return null
  if (y < bottom && reprintable(row(y + 1), cols)) {
    const bg = scrolledInBg(row(top), cols)
    if (bg !== null) return { final: 'T', bg }
  }
  if (y > top && reprintable(row(y - 1), cols)) {
    const bg = scrolledInBg(row(bottom), cols)
    if (bg !== null) return { final: 'S', bg }
  }
  return null
}

/**
 * The alternate buffer's screen rows. It has no scrollback, but a resize while the normal screen
 * is shown leaves its row limit at the old height, so after a shrink it keeps rows above its screen
 * as it scrolls; no sequence makes those in a fresh terminal, and leaving the alternate screen
 * discards them, so they are not written.
 */
function screenRows(buf: Buf, rows: number): Buf {
  const { ybase, lines } = buf
  if (ybase === 0) return buf
  return { ...buf, ybase: 0, lines: { length: Math.min(rows, lines.length - ybase), maxLength: rows, get: (i) => lines.get(ybase + i) } }
}

/** `buf` with the rows of its scroll region one row off, as `scrolled` writes them. */
function shifted(buf: Buf, scrolled: Scrolled): Buf {
  const { ybase, scrollTop: top, scrollBottom: bottom, lines } = buf
  const step = scrolled.final === 'T' ? 1 : -1
  const get = (i: number) => {
    const y = i - ybase
    const from = y >= top && y <= bottom && y + step >= top && y + step <= bottom ? i + step : i
    return lines.get(from)
  }
  return { ...buf, lines: { length: lines.length, maxLength: lines.maxLength, get } }
}

/** The charset DECRC gives on this screen (xterm restores the saved one, or none). */
const restoredCharset = (buf: Buf): unknown => buf.savedCharset || undefined

const GLEVEL_SHIFT = ['\x0f', '\x0e', '\x1bn', '\x1bo']
const G_INTRO = ['(', ')', '*', '+']
const MOUSE_PROTOCOL: Record<string, string> = { X10: '9', VT200: '1000', DRAG: '1002', ANY: '1003' }
const MOUSE_ENCODING: Record<string, string> = { SGR: '1006', SGR_PIXELS: '1016' }
const CURSOR_STYLE = { block: 1, underline: 3, bar: 5 } as const

/**
 * After a buffer's rows: its tab stops, saved cursor and scroll region; for the buffer shown
 * last ('final'), the cursor, the pen, the charsets and the modes too.
 */
function writeScreenState(
  parts: string[],
  buf: Buf,
  cols: number,
  rows: number,
  pen: Pen,
  term: Terminal,
  core: Core,
  final: boolean,
  stored = 0,
  scrolled: Scrolled | null = null,
  early = false,
): void {
  writeTabs(parts, buf, cols, core.optionsService.rawOptions.tabStopWidth)
  if (!early) writeSaved(parts, buf, cols, rows, pen, term, stored)
  if (buf.scrollTop !== 0 || buf.scrollBottom !== rows - 1) parts.push(`\x1b[${buf.scrollTop + 1};${buf.scrollBottom + 1}r`)
  if (!final) return

  const modes = core.coreService.decPrivateModes
  if (modes.origin) parts.push('\x1b[?6h')
  // The cursor and the pen, written again after a DECRC below (which sets the pen too).
  const cursorAndPen = () => {
    // The cursor. Origin mode makes CUP relative to the scroll region.
    const top = modes.origin ? buf.scrollTop : 0
    const y = buf.y
    if (buf.x >= cols) {
      if (buf === core.buffers.normal) {
        // The pending wrap after the last column, carried over from the alternate screen
        // (leaving it gives the normal screen the alternate one's cursor), where a print put it:
        // any print on this screen would change the last cell, any erase moves the cursor.
        parts.push(pen.reset(), `\x1b[?1047h\x1b[${y + 1};${cols}H \x1b[?1047l`)
      } else if (erasedBg(buf.lines.get(buf.ybase + y)!, cols) !== null) {
        // A blank row: erased by EL 1 from the pending wrap, which keeps the cursor there (and
        // the row's wrap), after a print put it there.
        const bg = erasedBg(buf.lines.get(buf.ybase + y)!, cols)!
        parts.push(`\x1b[${y - top + 1};${cols}H`, pen.reset(), ' ', pen.set(0, bg, 0, ''), '\x1b[1K')
      } else if (scrolled) {
        // Written one row off (see scrolledCursor): the row under the cursor now, then the scroll.
        pendingWrapByPrint(parts, buf.lines.get(buf.ybase + y + (scrolled.final === 'T' ? 1 : -1))!, cols, y - top, pen, core)
        parts.push(pen.set(0, scrolled.bg, 0, pen.link), `\x1b[${scrolled.final}`)
        scrolled = null // once: after a DECRC below the cursor can only be put back in the last column
      } else pendingWrapByPrint(parts, buf.lines.get(buf.ybase + y)!, cols, y - top, pen, core)
    } else if (modes.origin && buf === core.buffers.normal && (y < buf.scrollTop || y > buf.scrollBottom)) {
      // Outside the scroll region in origin mode, where no CUP goes: carried over from the
      // alternate screen (its region is the whole screen here), as a program's cursor was.
      parts.push(`\x1b[?1047h\x1b[${y + 1};${buf.x + 1}H\x1b[?1047l`)
    } else parts.push(`\x1b[${y - top + 1};${buf.x + 1}H`)
    // The pen.
    const attr = core._inputHandler._curAttrData
    parts.push(pen.set(attr.fg, attr.bg, attr.extended._ext, linkOf(core, attr.extended.urlId)))
  }
  cursorAndPen()

  // Character sets G0..G3 and the one in use (`early`: written before the alternate screen was
  // entered, see charsetFromNormal).
  if (!early) writeCharsetInUse(parts, buf, term, core, pen, cursorAndPen)
  writeModes(parts, core)
}

/** The charsets, then (by DECRC) the one in use when it is not the shifted-in one. */
function writeCharsetInUse(parts: string[], buf: Buf, term: Terminal, core: Core, pen: Pen, cursorAndPen: () => void): void {
  writeCharsets(parts, core, term)
  const charsets = core._charsetService
  const current = charsets.charset || undefined
  if (current !== (charsets._charsets[charsets.glevel] || undefined)) {
    // The charset in use is not the shifted-in one: only DECRC does that (it restores the saved
    // charset of the screen it is on, or none). Do it, on the alternate screen for the charset
    // saved there, then put the cursor and the pen back.
    const restore =
      restoredCharset(buf) === current
        ? '\x1b8'
        : buf === core.buffers.normal && restoredCharset(core.buffers.alt) === current
          ? '\x1b[?1047h\x1b8\x1b[?1047l'
          : ''
    if (restore) {
      parts.push(restore)
      forget(pen)
      cursorAndPen()
    }
  }
}

/** The designations of G0..G3 and the shift to the one in use (SO, SI, LS2, LS3). */
function writeCharsets(parts: string[], core: Core, term: Terminal): void {
  const charsets = core._charsetService
  for (let g = 0; g < 4; g++) {
    const designator = designatorOf(charsets._charsets[g], term)
    if (designator !== 'B') parts.push(`\x1b${G_INTRO[g]}${designator}`)
  }
  if (charsets.glevel !== 0) parts.push(GLEVEL_SHIFT[charsets.glevel]!)
}

/**
 * On the alternate screen, no charset in use when the shifted-in one is not none and the
 * alternate screen's saved cursor has a charset: only a DECRC on the normal screen (with no
 * charset saved there) gives that, before the alternate screen was entered. The snapshot does the
 * same; the alternate screen's rows are then printed with no charset, as they were.
 */
function charsetFromNormal(core: Core): boolean {
  const { charset, glevel, _charsets } = core._charsetService
  const { normal, alt, active } = core.buffers
  return active === alt && !charset && !!_charsets[glevel] && restoredCharset(alt) !== undefined && restoredCharset(normal) === undefined
}

/** The modes (DECSET/DECRST, keypad, insert, LNM) and the cursor's shape. */
function writeModes(parts: string[], core: Core): void {
  const modes = core.coreService.decPrivateModes
  const set: string[] = []
  const reset: string[] = []
  if (modes.applicationCursorKeys) set.push('1')
  if (!modes.wraparound) reset.push('7')
  if (modes.reverseWraparound) set.push('45')
  if (modes.sendFocus) set.push('1004')
  if (modes.bracketedPasteMode) set.push('2004')
  if (modes.synchronizedOutput) set.push('2026')
  if (core.coreService.isCursorHidden) reset.push('25')
  if (core.optionsService.rawOptions.cursorBlink) set.push('12')
  const protocol = MOUSE_PROTOCOL[core.coreMouseService.activeProtocol]
  if (protocol) set.push(protocol)
  const encoding = MOUSE_ENCODING[core.coreMouseService.activeEncoding]
  if (encoding) set.push(encoding)
  if (set.length) parts.push(`\x1b[?${set.join(';')}h`)
  if (reset.length) parts.push(`\x1b[?${reset.join(';')}l`)
  if (modes.applicationKeypad) parts.push('\x1b=')
  if (core.coreService.modes.insertMode) parts.push('\x1b[4h')
  if (core.optionsService.rawOptions.convertEol) parts.push('\x1b[20h')
  if (modes.cursorStyle !== undefined) parts.push(`\x1b[${CURSOR_STYLE[modes.cursorStyle] + (modes.cursorBlink === false ? 1 : 0)} q`)
  else if (modes.cursorBlink !== undefined) parts.push(`\x1b[${modes.cursorBlink ? 7 : 8} q`)
}
