/**
 * Compact scrollback for a headless screen (docs/daemon.md, "Snapshots"). xterm keeps a row as
 * 12 bytes a cell (2.4 KB for a row of 200 columns, whatever it holds), so a deep scrollback
 * costs megabytes per session. Here xterm keeps only COMPACT_TAIL_ROWS rows of scrollback; each
 * row that leaves its buffer is stored, as it leaves, as the text that writes it (compactRow in
 * serialize.ts) in a CompactHistory (history.ts), and a snapshot writes the stored text as it is.
 *
 * The screen must stay the one a terminal that kept every row would have (plain xterm with the
 * whole scrollback, the oracle of test/screen/compact.test.ts), so everything that looks at rows
 * beyond xterm's buffer is done here:
 * - a row leaves when xterm scrolls with its buffer full (the scroll hook below); the stored rows
 *   are trimmed to the true limit (rows + scrollback), and the saved cursor, which xterm keeps as
 *   an absolute row, moves as it would in the deeper buffer;
 * - clear-scrollback (ED 3) and a full reset (RIS) drop the stored rows too;
 * - a resize reflows the stored rows as xterm would: their cells are rebuilt from the stored text
 *   in a scratch terminal, put back above xterm's rows, the resize is done on the whole buffer,
 *   and the rows above the tail are stored again at the new width. That costs time in proportion
 *   to the history, once per resize; resizes are rare next to output.
 */
import xtermHeadless, { type Terminal } from '@xterm/headless'
import { CompactHistory, Entry, UNWRAP } from './history.js'
import { compactRow, coreOf, emptyExit, historyEnd, type Compacted } from './serialize.js'

/**
 * Scrollback rows xterm itself keeps above the screen when the rest is compact. At least one,
 * so the row below a leaving row (which decides how the leaving row ends) can no longer change;
 * a few dozen, so a screen that grows taller by up to this many rows pulls them back without a
 * rebuild; few, because each costs 12 bytes a cell.
 */
export const COMPACT_TAIL_ROWS = 32

interface Cell {
  _ext: number
  urlId: number
  clone(): Cell
}
interface Row {
  isWrapped: boolean
  clone(): Row
  copyFrom(row: Row): void
  _data: Uint32Array
  _extendedAttrs: Record<number, Cell | undefined>
  _combined: Record<number, string>
}
interface Lines {
  length: number
  maxLength: number
  readonly isFull: boolean
  get(i: number): Row | undefined
  set(i: number, row: Row): void
  trimStart(n: number): void
  /** The ring's slot of row 0 (CircularList's; see ringStart). */
  _startIndex: number
}
interface Marker {
  line: number
  isDisposed: boolean
  dispose(): void
  onDispose(listener: () => void): unknown
}
interface LinkEntry {
  id: number
  key?: string
  data: { id?: string; uri: string }
  lines: Marker[]
}
interface LinkService {
  _nextId: number
  _dataByLinkId: Map<number, LinkEntry>
  _entriesWithId: Map<string, LinkEntry>
  _removeMarkerFromLink(entry: LinkEntry, marker: Marker): void
  getLinkData(id: number): { id?: string; uri: string } | undefined
}
interface Buf {
  /** A blank row in the default pen (xterm's own). */
  getBlankLine(attr: undefined): Row
  markers: Marker[]
  addMarker(y: number): Marker
  lines: Lines
  x: number
  y: number
  ybase: number
  ydisp: number
  savedY: number
  scrollTop: number
  scrollBottom: number
}
interface Shape {
  buffers: { normal: Buf; active: Buf }
  _bufferService: { scroll(eraseAttr: unknown, isWrapped?: boolean): void }
  optionsService: { rawOptions: { scrollback: number } }
  _inputHandler: {
    parse(data: Uint8Array): void
    eraseInDisplay(params: { params: Int32Array | number[] }, respectProtect?: boolean): boolean
    screenAlignmentPattern(): boolean
  }
  coreService: { decPrivateModes: { origin: boolean } }
  _oscLinkService: LinkService
}

/**
 * A marker (xterm ties each hyperlink to the rows it was opened on, and forgets the link when
 * they all leave the buffer) whose row went into the compact history: moved out of xterm's reach
 * until the row leaves the history too, as it would in the deeper buffer.
 */
const PARKED = 2 ** 48

export interface CompactScrollback {
  readonly compacted: Compacted
  /** Resizes the terminal, reflowing the stored rows with xterm's own (instead of term.resize). */
  resize(cols: number, rows: number): void
}

const BG_HAS_EXTENDED = 0x10000000
const CELL_SIZE = 3
const HAS_CONTENT = 0x3fffff
const WIDTH_SHIFT = 22
const CONTENT_IS_COMBINED = 0x200000
const encoder = new TextEncoder()

/**
 * Keeps `term`'s scrollback beyond `tail` rows compact, for a true limit of `scrollback` rows.
 * Null (and `term` untouched) when the scrollback fits in the tail or xterm's internals are not
 * the expected ones.
 */
export function compactScrollback(term: Terminal, scrollback: number, tail = COMPACT_TAIL_ROWS): CompactScrollback | null {
  tail = Math.max(1, tail)
  if (scrollback <= tail) return null
  const core = (term as unknown as { _core?: Partial<Shape> })._core
  const serializerCore = coreOf(term)
  if (!serializerCore || !hasShape(core)) return null
  const history = new CompactHistory()
  const compacted: Compacted = { history, exit: emptyExit(), insideBg: 0, tailHead: '', capacity: () => term.rows + scrollback }

  const shrink = () => {
    core.optionsService.rawOptions.scrollback = tail
    const lines = core.buffers.normal.lines
    if (lines.length <= term.rows + tail) lines.maxLength = term.rows + tail
  }
  shrink()

  /** Markers of stored rows, with the number of their row. */
  let parked: { marker: Marker; row: number }[] = []
  /** Parks the markers of xterm's first `n` rows, about to be stored as the next rows. */
  const park = (n: number) => {
    for (const marker of core.buffers.normal.markers) {
      if (marker.isDisposed || marker.line < 0 || marker.line >= n) continue
      parked.push({ marker, row: history.first + history.count + marker.line })
      marker.line = PARKED
    }
  }
  /**
   * The hyperlinks of stored rows, by row number (rows without one are not here): where each run
   * of one link starts, as (column, xterm's link id) pairs, id 0 for none. A stored row's text
   * names a link by its address, as a fresh terminal's link of its own; a rebuild (resize) gives
   * its cells xterm's link back, so the link lives exactly as long as xterm would keep it.
   */
  const rowLinks = new Map<number, Int32Array>()
  /**
   * The left-over combined strings of stored rows, by row number (rows without any are not
   * here). xterm keeps a cell's combined string when a plain character replaces it, and its
   * reflow (BufferLine.copyCellsFrom) copies every such string at or right of the cells it moves,
   * over the strings of the row it moves them into: a combined cell there can take another cell's
   * old string. No text a row is stored as leaves them, so a rebuild puts them back.
   */
  const rowStale = new Map<number, Array<[number, string]>>()
  /**
   * The wide character a resize left in a stored row's last column (no print puts one there, so
   * the row's text has the blank it covers: docs/daemon.md, "Snapshots"), by row number. xterm's
   * next widening brings the character back; a rebuild puts it back in the row first.
   */
  const rowLastWide = new Map<number, LastWide>()
  /**
   * The cells of stored rows that hold a character where a wide character's right half should
   * be (xterm's reflow leaves one when it moves cells over a wide character's: docs/daemon.md,
   * "Compact scrollback", _Resize_), by row number, as (column, cell). The row's text writes the
   * wide character, which covers that cell, and xterm's next reflow copies the cell as it is: a
   * rebuild puts it back.
   */
  const rowCovered = new Map<number, Array<[number, LastWide]>>()
  /**
   * The deeper buffer's ring past its last row, while it is not full (DECALN writes there, see
   * below): slot j (row `length + j`) still holds a row a resize moved (xterm's reflow deletes
   * rows by shifting those below down, and leaves the slots past the new end as they were), as
   * xterm's row, or the number of a stored one; null when it holds a row no longer in the buffer.
   * A row the deeper buffer grows by takes the first slot.
   */
  let ghosts: (Row | number | null)[] = []
  /**
   * The deeper buffer's ring start: the slot of its row 0 (docs/daemon.md, "Compact scrollback",
   * _Resize_). It is 0 when the ring's length was last set, grows by one for each row a scroll
   * trims from a full ring (modulo the length when the trimmed row is recycled at the bottom, not
   * when a scroll region's bottom row above the last takes a new row), and by the rows that
   * clear-scrollback trims. It only shows in a reflow to fewer columns that goes past the top of
   * a full buffer: xterm writes the rows it pushes off the top at index -1 and below, which the
   * ring takes as slot `start - 1`, the slot of its last row, when the start is past 0.
   */
  let ringStart = 0
  /** Drops markers whose rows have left the history. */
  const expire = () => {
    const first = history.first
    for (const row of rowLinks.keys()) {
      if (row >= first) break
      rowLinks.delete(row)
    }
    for (const row of rowStale.keys()) if (row < first) rowStale.delete(row)
    for (const row of rowLastWide.keys()) if (row < first) rowLastWide.delete(row)
    for (const row of rowCovered.keys()) if (row < first) rowCovered.delete(row)
    if (parked.length === 0 || parked[0]!.row >= first) return
    const keep: typeof parked = []
    for (const item of parked) {
      if (item.row < first) item.marker.dispose()
      else keep.push(item)
    }
    parked = keep
  }

  /**
   * Drops the stored rows. Clear-scrollback ends their markers as xterm ends those of the rows it
   * trims; a full reset leaves them, as xterm leaves the markers of the buffers it replaces (so a
   * link opened before the reset is still known after it).
   */
  const forget = (endMarkers: boolean) => {
    if (endMarkers) for (const item of parked) item.marker.dispose()
    parked = []
    ghosts = []
    rowLinks.clear()
    rowStale.clear()
    rowLastWide.clear()
    rowCovered.clear()
    // xterm's saved cursor row is absolute: in the deeper buffer it is `count` rows further down.
    core.buffers.normal.savedY += history.count
    history.clear()
    compacted.exit = emptyExit()
    compacted.insideBg = 0
    compacted.tailHead = ''
  }

  /** Stores the first `n` rows of xterm's normal buffer (they are about to leave it). */
  const store = (n: number) => {
    const lines = core.buffers.normal.lines
    for (let i = 0; i < n; i++) {
      const runs = linkRuns(core._oscLinkService, lines.get(i)!, term.cols)
      if (runs) rowLinks.set(history.first + history.count, runs)
      const row = lines.get(i)!
      const left = staleCombined(row)
      if (left) rowStale.set(history.first + history.count, left)
      const wide = lastWide(row, term.cols)
      if (wide) rowLastWide.set(history.first + history.count, wide)
      const covered = coveredCells(row, term.cols)
      if (covered) rowCovered.set(history.first + history.count, covered)
      if (ghosts.length) {
        const number = history.first + history.count
        ghosts = ghosts.map((ghost) => (ghost === row ? number : ghost))
      }
      compactRow(serializerCore, compacted, row as never, (lines.get(i + 1) ?? null) as never, term.cols, term.rows)
      // A row the row above wraps into whose first cell is a zero-width character alone (printed
      // at the start of a row): printed in the pending wrap it would join the row above's last
      // cell instead of wrapping. A blank wraps first, and a carriage return goes back to it.
      const first = row._data[0]!
      if (history.kindAt(history.count - 1) === Entry.Wrap && first & HAS_CONTENT && first >>> WIDTH_SHIFT === 0)
        history.prefixHead(history.count - 1, ' \r')
      history.relinkHead(history.count - 1, `\x1b[${term.cols}G`)
    }
  }

  // A scroll with the buffer full recycles its oldest row: store it first.
  const bufferService = core._bufferService
  const scroll = bufferService.scroll.bind(bufferService)
  bufferService.scroll = (eraseAttr, isWrapped) => {
    const normal = core.buffers.normal
    if (core.buffers.active === normal && normal.scrollTop === 0 && normal.lines.isFull) {
      park(1)
      store(1)
      if (history.count + normal.lines.length > compacted.capacity()) {
        // (The same test as xterm's: the deeper buffer's rows and ybase are `count` further on.)
        const recycled = normal.ybase + normal.scrollBottom === normal.lines.length - 1
        ringStart = recycled ? (ringStart + 1) % compacted.capacity() : ringStart + 1
        history.dropFirst(1)
        expire()
      }
      // The deeper buffer was not full: its ybase grows where xterm's stays, so the saved
      // cursor's distance to the screen shrinks.
      else {
        normal.savedY--
        ghosts.shift()
      }
    } else if (core.buffers.active === normal && normal.scrollTop === 0) ghosts.shift()
    scroll(eraseAttr, isWrapped)
  }
  // Erase in display: clear-scrollback (ED 3) clears the stored rows too. ED 1 with the cursor in
  // the last column unwraps the row below the cursor, but xterm 6 takes the cursor's screen row
  // as a row of the whole buffer (it unwraps row y + 1 counted from the top of the scrollback):
  // in the deeper buffer that row is a stored one, or another of xterm's.
  const input = core._inputHandler
  const eraseInDisplay = input.eraseInDisplay.bind(input)
  input.eraseInDisplay = (params, respectProtect) => {
    const normal = core.buffers.normal
    if (core.buffers.active !== normal) return eraseInDisplay(params, respectProtect)
    const mode = params.params[0]
    if (mode === 3) {
      // xterm trims all but the screen's rows from the deeper ring's start.
      ringStart += Math.max(0, history.count + normal.lines.length - term.rows)
      forget(true)
    }
    if (mode !== 1 || Math.min(normal.x, term.cols) + 1 < term.cols || history.count === 0) return eraseInDisplay(params, respectProtect)
    const row = Math.min(normal.y, term.rows - 1) + 1
    const hit = normal.lines.get(row)
    const wrapped = hit?.isWrapped
    const done = eraseInDisplay(params, respectProtect)
    // (A row on the screen, at or above the cursor, is unwrapped by the erase itself.)
    if (hit && row < normal.ybase) hit.isWrapped = wrapped!
    if (row < history.count) history.unwrap(row, `\x1b[${term.cols}G`)
    else {
      const line = normal.lines.get(row - history.count)
      if (line?.isWrapped && row === history.count) endStored()
      if (line) line.isWrapped = false
    }
    return done
  }
  // DECALN fills `rows` rows from the cursor's home: with origin mode in a scroll region that
  // goes past the buffer's last row, and xterm's ring of rows (CircularList) takes row
  // `maxLength + r` as its row r (and a row between the last and maxLength as one no longer in
  // the buffer, which no one sees). The deeper buffer's ring is longer, and its first rows are
  // stored ones: the fill wraps round to other rows there.
  const alignment = input.screenAlignmentPattern.bind(input)
  input.screenAlignmentPattern = () => {
    const normal = core.buffers.normal
    if (core.buffers.active !== normal) return alignment()
    const lines = normal.lines
    const top = normal.ybase + (core.coreService.decPrivateModes.origin ? normal.scrollTop : 0)
    const end = top + term.rows
    if (end <= lines.length) return alignment()
    // xterm's own wrapped rows are left as they are.
    const wrapped = Math.max(0, Math.min(end - lines.maxLength, lines.length))
    const kept = Array.from({ length: wrapped }, (_, r) => lines.get(r)!.clone())
    const done = alignment()
    for (let r = 0; r < wrapped; r++) lines.get(r)!.copyFrom(kept[r]!)
    // The deeper buffer's.
    const stored = history.count
    const capacity = compacted.capacity()
    const filled = lines.get(top)!
    const fill = (r: number) => {
      if (r >= stored) lines.get(r - stored)!.copyFrom(filled)
      else if (r >= 0) refill(r, filled)
    }
    if (stored + lines.length >= capacity) {
      for (let r = 0; r < Math.min(stored + end - capacity, stored + lines.length); r++) fill(r)
      return done
    }
    // Not full: the slots past its end.
    for (let j = 0; j < end - lines.length && j < ghosts.length; j++) {
      const ghost = ghosts[j]
      if (typeof ghost === 'number') fill(ghost - history.first)
      else if (ghost) for (let r = 0; r < lines.length; r++) if (lines.get(r) === ghost) ghost.copyFrom(filled)
    }
    return done
  }
  /** Stored row `j` becomes `row` (not wrapped), as its text after a line break. */
  const refill = (j: number, row: Row) => {
    const last = j === history.count - 1
    const alone: Compacted = { history: new CompactHistory(), exit: emptyExit(), insideBg: 0, tailHead: '', capacity: compacted.capacity }
    // What the row below needs of this one: only whether it continues it.
    const next = last
      ? core.buffers.normal.lines.get(0)!
      : { isWrapped: history.kindAt(j + 1) !== Entry.Line, _data: new Uint32Array(term.cols * CELL_SIZE) }
    compactRow(serializerCore, alone, row as never, next as never, term.cols, term.rows)
    history.replaceLine(j, alone.history.text())
    rowLinks.delete(history.first + j)
    const left = staleCombined(row)
    if (left) rowStale.set(history.first + j, left)
    else rowStale.delete(history.first + j)
    const wide = lastWide(row, term.cols)
    if (wide) rowLastWide.set(history.first + j, wide)
    else rowLastWide.delete(history.first + j)
    const covered = coveredCells(row, term.cols)
    if (covered) rowCovered.set(history.first + j, covered)
    else rowCovered.delete(history.first + j)
    // A wide character this row moved into the next one was printed from the column before the
    // last; the full row now ends in the pending wrap, where the same print wraps the same way.
    if (!last && history.kindAt(j + 1) === Entry.Inside) history.trimHead(j + 1, `\x1b[${term.cols}G`)
    if (!last) return
    compacted.exit = alone.exit
    compacted.insideBg = alone.insideBg
    compacted.tailHead = alone.tailHead
  }
  /**
   * xterm's first row no longer continues the last stored one, which was written to wrap into
   * it: what completes the stored row is written after it instead (historyEnd), and xterm's first
   * row starts a line. A wide character the stored row moved into xterm's first row is printed as
   * it was (blanking the stored row's last column in its pen, which nothing else does), then
   * erased and taken off the wrap (see CompactHistory.unwrap) before going back up.
   */
  const endStored = () => {
    const moveTo = `\x1b[${term.cols}G`
    let end = historyEnd(serializerCore, compacted, term.cols)
    if (compacted.exit.inside) end = end.startsWith(moveTo) ? end + UNWRAP + '\x1b[A' : ''
    compacted.exit = emptyExit()
    compacted.insideBg = 0
    compacted.tailHead = end
  }
  term.parser.registerEscHandler({ final: 'c' }, () => {
    // A full reset makes new buffers, with new rings.
    ringStart = 0
    forget(false)
    return false
  })

  return {
    compacted,
    resize(cols, rows) {
      const normal = core.buffers.normal
      const lines = normal.lines
      core.optionsService.rawOptions.scrollback = scrollback
      // Setting the length restarts the ring at slot 0; the deeper buffer's ring may start
      // elsewhere (ringStart), which a reflow past the top shows (docs/daemon.md, "Compact
      // scrollback", _Resize_): the rows are laid out again from the start it has.
      lines.maxLength = term.rows + scrollback
      /** Lays the ring out from ringStart: `above` (the stored rows, rebuilt), then xterm's. */
      const lay = (above: Row[]) => {
        const kept: Row[] = []
        for (let i = 0; i < lines.length; i++) kept.push(lines.get(i)!)
        lines._startIndex = ringStart
        lines.length = above.length + kept.length
        for (let i = 0; i < above.length; i++) lines.set(i, above[i]!)
        for (let i = 0; i < kept.length; i++) lines.set(above.length + i, kept[i]!)
      }
      const n = history.count
      if (n > 0) {
        const { rows: rebuilt, links } = rebuild(term, compacted, historyEnd(serializerCore, compacted, term.cols))
        const relinked = relink(rebuilt, rowLinks, history.first, term.cols)
        for (const [number, left] of rowStale) {
          const row = rebuilt[number - history.first]
          if (row) for (const [c, text] of left) if (!(row._data[c * CELL_SIZE]! & CONTENT_IS_COMBINED)) row._combined[c] = text
        }
        for (const [number, wide] of rowLastWide) {
          const row = rebuilt[number - history.first]
          if (row) putCell(row, term.cols - 1, wide)
        }
        for (const [number, covered] of rowCovered) {
          const row = rebuilt[number - history.first]
          if (row) for (const [c, cell] of covered) putCell(row, c, cell)
        }
        lay(rebuilt)
        normal.ybase += n
        normal.ydisp += n
        // Markers follow their rows: the kept ones moved down, the parked ones are back.
        for (const marker of normal.markers) if (!marker.isDisposed && marker.line < PARKED / 2) marker.line += n
        const first = history.first
        for (const item of parked) item.marker.line = item.row - first
        parked = []
        adoptLinks(core, normal, rebuilt, links, term.cols, relinked)
      } else lay([])
      forget(false)
      term.resize(cols, rows)
      ringStart = lines._startIndex
      // What the whole buffer's ring holds past its end now (see ghosts).
      ghosts = []
      if (lines.length < lines.maxLength) {
        const at = new Map<Row, number>()
        for (let r = 0; r < lines.length; r++) at.set(lines.get(r)!, r)
        for (let idx = lines.length; idx < lines.maxLength; idx++) {
          const row = lines.get(idx)
          ghosts.push(row && at.has(row) ? row : null)
        }
        while (ghosts.length && ghosts[ghosts.length - 1] === null) ghosts.pop()
      }
      // Everything above the tail leaves xterm's buffer again, stored at the new width.
      const over = normal.ybase - tail
      if (over > 0) {
        park(over)
        store(over)
        lines.trimStart(over)
        normal.ybase -= over
        normal.ydisp = Math.max(0, normal.ydisp - over)
        normal.savedY -= over
      }
      shrink()
    },
  }
}

interface LastWide {
  data: Uint32Array
  combined: string | undefined
  ext: Cell | undefined
}

/** The wide character in a row's last column (see rowLastWide), or null. */
function lastWide(row: Row, cols: number): LastWide | null {
  if (cols < 2 || row._data[(cols - 1) * CELL_SIZE]! >>> WIDTH_SHIFT !== 2) return null
  return cellAt(row, cols - 1)
}

/** Puts a kept cell back into column `c` of a rebuilt row. */
function putCell(row: Row, c: number, cell: LastWide): void {
  row._data.set(cell.data, c * CELL_SIZE)
  if (cell.combined !== undefined) row._combined[c] = cell.combined
  if (cell.ext) row._extendedAttrs[c] = cell.ext.clone()
}

/** Cell `c` as it is (data, combined string, extended attributes). */
function cellAt(row: Row, c: number): LastWide {
  const at = c * CELL_SIZE
  const data = row._data.slice(at, at + CELL_SIZE)
  const combined = data[0]! & CONTENT_IS_COMBINED ? row._combined[c] : undefined
  const ext = data[2]! & BG_HAS_EXTENDED ? row._extendedAttrs[c]?.clone() : undefined
  return { data, combined, ext }
}

/**
 * The cells right of a wide character that are not its right half (see rowCovered), or null.
 * (Where the row's text makes such a cell itself, putting it back changes nothing.)
 */
function coveredCells(row: Row, cols: number): Array<[number, LastWide]> | null {
  let covered: Array<[number, LastWide]> | null = null
  for (let c = 0; c + 1 < cols; c++) {
    if (row._data[c * CELL_SIZE]! >>> WIDTH_SHIFT !== 2) continue
    const right = row._data[(c + 1) * CELL_SIZE]!
    if (right & HAS_CONTENT || right >>> WIDTH_SHIFT !== 0) (covered ??= []).push([c, cellAt(row, c)], [c + 1, cellAt(row, c + 1)])
  }
  return covered
}

/** A row's combined strings whose cells no longer hold them (see rowStale), or null. */
function staleCombined(row: Row): Array<[number, string]> | null {
  let left: Array<[number, string]> | null = null
  for (const key in row._combined) {
    const c = Number(key)
    if (row._data[c * CELL_SIZE]! & CONTENT_IS_COMBINED) continue
    ;(left ??= []).push([c, row._combined[c]!])
  }
  return left
}

/** The stored rows' cells, rebuilt by writing their text into a scratch terminal of the same size. */
function rebuild(term: Terminal, compacted: Compacted, end: string): { rows: Row[]; links: Map<number, { id?: string; uri: string }> } {
  const history = compacted.history
  const n = history.count
  const scratch = new xtermHeadless.Terminal({
    cols: term.cols,
    rows: term.rows,
    scrollback: n + 2,
    allowProposedApi: true,
    logLevel: 'off',
  })
  const scratchCore = (scratch as unknown as { _core: Shape })._core
  const leading = history.firstKind !== Entry.Line
  const prefix = leading ? ' '.repeat(history.firstKind === Entry.Inside ? term.cols - 1 : term.cols) : ''
  scratchCore._inputHandler.parse(encoder.encode(prefix + history.text() + end))
  const lines = scratchCore.buffers.normal.lines
  const rows: Row[] = []
  const from = leading ? 1 : 0
  // The stored text is written to make one row per stored row, but a state it does not yet make
  // exactly (docs/daemon.md, "Snapshots") can make fewer: the oldest rows are then blank, rather
  // than the screen failing at its next resize.
  const missing = Math.max(0, from + n - lines.length)
  for (let i = 0; i < missing; i++) rows.push(scratchCore.buffers.normal.getBlankLine(undefined))
  for (let i = 0; i < n - missing; i++) rows.push(lines.get(from + i)!)
  // Hyperlinks are numbered per terminal: the rows' links as the scratch terminal numbered them.
  const links = new Map<number, { id?: string; uri: string }>()
  for (const row of rows) {
    for (let c = 0; c < term.cols; c++) {
      if (!(row._data[c * CELL_SIZE + 2]! & BG_HAS_EXTENDED)) continue
      const id = row._extendedAttrs[c]?.urlId
      if (!id || links.has(id)) continue
      const data = scratchCore._oscLinkService.getLinkData(id)
      if (data) links.set(id, data)
    }
  }
  scratch.dispose()
  return { rows, links }
}

/**
 * Registers the hyperlinks of rebuilt rows (numbered by the scratch terminal) with `core`, each
 * tied to the first row it appears on (where it was opened, as far as the rows tell).
 */
function adoptLinks(
  core: Shape,
  normal: Buf,
  rows: Row[],
  links: Map<number, { id?: string; uri: string }>,
  cols: number,
  seen: WeakSet<Cell>,
): void {
  if (links.size === 0) return
  const service = core._oscLinkService
  const ids = new Map<number, number>()
  for (let y = 0; y < rows.length; y++) {
    const row = rows[y]!
    for (let c = 0; c < cols; c++) {
      if (!(row._data[c * CELL_SIZE + 2]! & BG_HAS_EXTENDED)) continue
      const ext = row._extendedAttrs[c]
      if (!ext?.urlId || seen.has(ext)) continue
      seen.add(ext)
      let id = ids.get(ext.urlId)
      if (id === undefined) {
        const data = links.get(ext.urlId)
        id = data ? adoptLink(service, normal, data, y) : 0
        ids.set(ext.urlId, id)
      }
      ext.urlId = id
    }
  }
}

/** Where each run of one live link starts in `row`, as (column, id) pairs; null when it has none. */
function linkRuns(service: LinkService, row: Row, cols: number): Int32Array | null {
  let runs: number[] | null = null
  let current = 0
  for (let c = 0; c < cols; c++) {
    let id = 0
    if (row._data[c * CELL_SIZE + 2]! & BG_HAS_EXTENDED) {
      const urlId = row._extendedAttrs[c]?.urlId ?? 0
      // A link xterm has forgotten is written as none.
      if (urlId && service.getLinkData(urlId)) id = urlId
    }
    if (id === current) continue
    ;(runs ??= []).push(c, id)
    current = id
  }
  return runs ? Int32Array.from(runs) : null
}

/**
 * Gives the rebuilt rows' cells (linked by the scratch terminal) the links xterm had on them as
 * they were stored (`rowLinks`, by row number; `first` is rows[0]'s): its own link ids, whose
 * lifetime xterm keeps by the rows they were printed on. The cells' attributes it made.
 */
function relink(rows: Row[], rowLinks: Map<number, Int32Array>, first: number, cols: number): WeakSet<Cell> {
  const made = new WeakSet<Cell>()
  for (let y = 0; y < rows.length; y++) {
    const runs = rowLinks.get(first + y)
    if (!runs) continue
    const row = rows[y]!
    // One new attribute object per (old object, link): cells share them.
    const clones = new Map<Cell, Map<number, Cell>>()
    let run = -2
    for (let c = 0; c < cols; c++) {
      while (run + 2 < runs.length && runs[run + 2]! <= c) run += 2
      if (!(row._data[c * CELL_SIZE + 2]! & BG_HAS_EXTENDED)) continue
      const ext = row._extendedAttrs[c]
      if (!ext?.urlId) continue
      const id = run >= 0 ? runs[run + 1]! : 0
      let byId = clones.get(ext)
      if (!byId) clones.set(ext, (byId = new Map()))
      let clone = byId.get(id)
      if (!clone) {
        clone = ext.clone()
        clone.urlId = id
        made.add(clone)
        byId.set(id, clone)
      }
      row._extendedAttrs[c] = clone
    }
  }
  return made
}

function adoptLink(service: LinkService, normal: Buf, data: { id?: string; uri: string }, y: number): number {
  const key = data.id !== undefined ? `${data.id};;${data.uri}` : undefined
  let entry = key !== undefined ? service._entriesWithId.get(key) : undefined
  if (!entry) {
    entry = { id: service._nextId++, data, lines: [] }
    if (key !== undefined) {
      entry.key = key
      service._entriesWithId.set(key, entry)
    }
    service._dataByLinkId.set(entry.id, entry)
  }
  const owner = entry
  const marker = normal.addMarker(y)
  owner.lines.push(marker)
  marker.onDispose(() => service._removeMarkerFromLink(owner, marker))
  return owner.id
}

function hasShape(core: Partial<Shape> | undefined): core is Shape {
  return (
    typeof core?._bufferService?.scroll === 'function' &&
    typeof core.optionsService?.rawOptions?.scrollback === 'number' &&
    typeof core._inputHandler?.parse === 'function' &&
    typeof core._inputHandler.eraseInDisplay === 'function' &&
    typeof core._inputHandler.screenAlignmentPattern === 'function' &&
    typeof core.coreService?.decPrivateModes?.origin === 'boolean' &&
    core._oscLinkService?._dataByLinkId instanceof Map &&
    core._oscLinkService._entriesWithId instanceof Map &&
    typeof core._oscLinkService._removeMarkerFromLink === 'function' &&
    Array.isArray(core.buffers?.normal?.markers) &&
    typeof core.buffers?.normal?.savedY === 'number' &&
    typeof core.buffers.normal.lines?.trimStart === 'function' &&
    typeof core.buffers.normal.lines._startIndex === 'number'
  )
}
