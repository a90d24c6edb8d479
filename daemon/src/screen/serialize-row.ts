/**
 * One row of a snapshot: its cells, blanks, wide and split cells and its wrap into the next row,
 * written so that a fresh terminal makes exactly that row (docs/daemon.md, "Snapshots", the
 * table: blank cells, wrapped rows, split wide cells).
 */
import {
  CELL_SIZE,
  CODEPOINT_MASK,
  IS_COMBINED,
  HAS_CONTENT,
  WIDTH_SHIFT,
  CM_MASK,
  COLOR_MASK,
  BG_HAS_EXTENDED,
  type Line,
  type Core,
} from './xterm-buffer.js'
import { detached, forget, type Pen } from './pen.js'

/** Any wide character: printed and then half overwritten, it leaves a blank in the later pen. */
const WIDE_STAND_IN = '\u6f22'

/**
 * A blank in a pen ECH cannot make in the last column, with no wrap after it. In insert mode,
 * xterm blanks (in the printing pen) a wide character pushed half out of the row; the cell before
 * is then written again.
 */
function lastBlank(line: Line, cols: number, pen: Pen): string {
  let out = `\x1b[${cols - 1}G` + pen.reset() + WIDE_STAND_IN
  out += `\x1b[4h\x1b[${cols - 1}G` + pen.cell(line, cols - 1) + ' \x1b[4l'
  // Cell cols-2 again (a wide character's right half: from its left half; a zero-width
  // character alone in its cell, after the CHA that keeps it from joining the cell before).
  const data = line._data
  let c = cols - 2
  if (c > 0 && data[c * CELL_SIZE]! >>> WIDTH_SHIFT === 0 && !(data[c * CELL_SIZE]! & HAS_CONTENT)) c--
  const content = data[c * CELL_SIZE]!
  out += `\x1b[${c + 1}G`
  if (content & HAS_CONTENT) out += pen.cell(line, c) + cellText(line, c, content)
  else out += pen.set(0, data[c * CELL_SIZE + 2]! & (CM_MASK | COLOR_MASK), 0, '') + '\x1b[X'
  return out
}

/**
 * Cell `c` is wide but its right half is a cell of its own (it holds a character, or is a blank
 * of width 1). xterm makes that only in the last two columns with autowrap off (see splitWide),
 * and DCH moves it anywhere in the row.
 */
export function isSplitWide(data: Uint32Array, c: number, cols: number): boolean {
  if (c + 1 >= cols || data[c * CELL_SIZE]! >>> WIDTH_SHIFT !== 2) return false
  const right = data[(c + 1) * CELL_SIZE]!
  return (right & HAS_CONTENT) !== 0 || right >>> WIDTH_SHIFT !== 0
}

/** CHA to column `n` (1-based). */
const toColumn = (n: number): string => `\x1b[${n}G`

/**
 * Writes a split wide cell `c` and the cell after it (isSplitWide). With autowrap off xterm makes
 * one in the last two columns in two ways, and so does this:
 * - a character printed in the pending wrap after a wide character goes into the last column
 *   without blanking the wide character (that check looks at the cell before the cursor, the
 *   right half), and a wide one, skipped, makes the cursor's cell a blank in the pen;
 * - a wide character that does not fit is skipped but its width stays the join state, so a
 *   zero-width character after it widens the cell before the cursor to 2 (a narrow character,
 *   or a blank that takes the zero-width character as its content) and leaves the last column.
 * A pair left of the last two columns was moved there by DCH: it is made there and moved the
 * same way. Returns the text and the cursor column after it, or null for a pair this cannot make.
 * `column` moves the cursor to a column of the row (a CUP in origin mode: xterm's CHA there adds
 * the scroll region's top to the cursor's row).
 */
export function splitWide(
  core: Core,
  line: Line,
  c: number,
  cols: number,
  pen: Pen,
  fill: number,
  column = toColumn,
): { out: string; x: number } | null {
  const data = line._data
  const at = c * CELL_SIZE
  const content = data[at]!
  const text = cellText(line, c, content)
  const first = text.codePointAt(0)!
  const right = data[at + CELL_SIZE]!
  const rightText = right & HAS_CONTENT ? cellText(line, c + 1, right) : null
  const base = cols - 2
  let out = ''
  let x: number
  if ((core.unicodeService?.wcwidth(first) ?? 2) === 2) {
    // A wide character, then the last column printed from the pending wrap; for a blank there,
    // a wide character that does not fit, which is skipped and leaves the cursor's cell (the
    // right half) a blank in the pen.
    out += column(base + 1) + '\x1b[?7l' + pen.cell(line, c) + text + pen.cell(line, c + 1)
    out += (rightText ?? WIDE_STAND_IN) + '\x1b[?7h'
    x = rightText !== null ? cols : cols - 1
  } else {
    // The cell widened by a zero-width character after a skipped wide one, then the last column
    // in the same print (a later print there would blank the wide cell), which leaves the cursor
    // in the pending wrap; a blank last column is erased first instead.
    const rightBg = data[at + CELL_SIZE + 2]!
    if (rightText === null) {
      if (!erasable(data[at + CELL_SIZE + 1]!, rightBg & ~BG_HAS_EXTENDED)) return null
      out += column(cols) + pen.set(0, rightBg & (CM_MASK | COLOR_MASK), 0, pen.link) + '\x1b[X'
    }
    // A narrow character and the zero-width ones it took in; else a blank that took them all.
    const combined = (content & IS_COMBINED) !== 0 && core.unicodeService?.wcwidth(first) !== 0
    if (combined) out += column(base + 1) + pen.cell(line, c) + String.fromCodePoint(first)
    else if (erasable(data[at + 1]!, data[at + 2]! & ~BG_HAS_EXTENDED) && !(data[at + 2]! & BG_HAS_EXTENDED))
      // The zero-width characters were taken in by a blank, which keeps its attributes.
      out += column(base + 1) + pen.set(0, data[at + 2]! & (CM_MASK | COLOR_MASK), 0, pen.link) + '\x1b[X' + column(cols)
    else return null
    const zeroWidth = combined ? text.slice(first > 0xffff ? 2 : 1) : text
    if (rightText !== null) out += pen.cell(line, c + 1) + '\x1b[?7l' + WIDE_STAND_IN + zeroWidth + rightText + '\x1b[?7h'
    else out += '\x1b[?7l' + WIDE_STAND_IN + zeroWidth + '\x1b[?7h'
    x = rightText !== null ? cols : cols - 1
  }
  if (c < base) {
    // Moved left by DCH, which blanks the cells it frees in the pen's colour.
    out += column(c + 1) + pen.set(0, fill === ANY_FILL ? 0 : fill, 0, pen.link) + `\x1b[${base - c}P`
    x = c
  }
  return { out, x }
}

/**
 * A wide character in the last column: xterm's resize leaves one when it narrows a row, and no
 * print can make one (one that does not fit wraps or is skipped). Written as the blank it covers.
 */
export function isCutWide(data: Uint32Array, c: number, cols: number): boolean {
  return c === cols - 1 && data[c * CELL_SIZE]! >>> WIDTH_SHIFT === 2
}

export function cellText(line: Line, c: number, content: number): string {
  return content & IS_COMBINED ? (line._combined[c] ?? ' ') : String.fromCodePoint(content & CODEPOINT_MASK)
}

/** A blank (null) cell that ECH makes: no fg, a bg colour without flags, no extended attributes. */
function erasable(fg: number, bg: number): boolean {
  return fg === 0 && (bg & ~(CM_MASK | COLOR_MASK)) === 0
}

export interface RowState {
  pen: Pen
  /** The cursor is in the pending wrap of the row above: the first print wraps into this row. */
  pendingWrap: boolean
  /** Bg of the blank cells of the row being written (what the fresh terminal filled it with). */
  fill: number
  /**
   * The row above ended on a stand-in for a blank cell of this bg, to be blanked after the wrap;
   * or (a string) on a stand-in for its last two columns, which this text writes after the wrap
   * from the row above (see splitWide), whatever the pen.
   */
  placeholder: number | string | null
  /** The row above already wrapped into this one: the cursor is in it, at `startAt`. */
  inside: boolean
  /** Columns the row above already wrote into this one (a wide character moved by the wrap). */
  startAt: number
  /** The wrap left a stand-in wide character in the first two cells: blank them first. */
  eraseHead: boolean
  /** Written before this row creates the next one itself (by wrapping a wide character). */
  beforeWrap: string
  /** The row above is a stand-in that goes once the rows are written (see writeBuffer). */
  aboveGoes?: boolean
  /**
   * Compacting (see compactRow): a row that creates the next one itself resets the pen and
   * records in `headAt` where that print starts, so it can be stored as the next row's head.
   */
  split?: boolean
  headAt?: number
}

/** The fill of a wrapped row written where it may or may not scroll in (compactRow): never assumed. */
export const ANY_FILL = -1
/** `atBottom` for compacted rows: the row may be written at the bottom or above it. */
export const EITHER = 2

/**
 * Writes one row. The cursor is at column 0 of the row, or in the pending wrap of the row above
 * (`state.pendingWrap`), or already inside the row (`state.startAt`). `wrapsOn` is the next row
 * when it continues this one: the row then ends in the pending wrap state. `atBottom`: a wrap into
 * this row scrolls the fresh terminal, whose new row is blank in the bg of the pen that wrapped.
 */
export function writeRow(
  line: Line,
  cols: number,
  wrapsOn: Line | null,
  state: RowState,
  atBottom: boolean | typeof EITHER,
  canFixAbove: boolean,
): string {
  const data = line._data
  const pen = state.pen
  let out = ''
  let x = state.startAt // the cursor column in the fresh terminal
  let c = state.startAt
  // Erasing leaves the open hyperlink open (ECH blanks carry none): closing and opening it again
  // would make xterm register a new link on this row, which dies with another row than the one
  // the program opened (xterm forgets a link when the rows it was registered on leave).
  if (state.eraseHead) out += pen.set(0, state.fill === ANY_FILL ? 0 : state.fill, 0, pen.link) + '\x1b[1G\x1b[2X'
  let erase0 = false
  if (state.pendingWrap) {
    // The first print wraps: the cell itself, or a stand-in blanked right after.
    const content = data[0]!
    if (content & HAS_CONTENT && content >>> WIDTH_SHIFT === 0) {
      // A zero-width character alone in the first cell: printed from the pending wrap it would
      // not wrap (it takes no column), so a stand-in wraps and the loop writes it over that.
      out += pen.reset() + ' '
      x = 1
    } else if (content & HAS_CONTENT) {
      out += pen.cell(line, 0) + cellText(line, 0, content)
      // xterm ties a hyperlink to the row the cursor is on before a print wraps: printed again
      // after the wrap, the first cell ties it to this row too, so that it outlives the stand-in.
      if (state.aboveGoes && pen.link) out += '\x1b[1G' + cellText(line, 0, content)
      x = content >>> WIDTH_SHIFT
      c = Math.max(x, 1)
    } else {
      out += pen.reset() + ' '
      x = 1
      erase0 = true
    }
    if (atBottom === EITHER) state.fill = pen.bg & (CM_MASK | COLOR_MASK) ? ANY_FILL : 0
    else if (atBottom) state.fill = pen.bg & (CM_MASK | COLOR_MASK)
    if (typeof state.placeholder === 'string' && canFixAbove) {
      out += `\x1b[A${state.placeholder}\x1b[B\x1b[${x + 1}G`
      forget(pen)
    } else if (typeof state.placeholder === 'number' && canFixAbove) {
      out += `\x1b[A\x1b[${cols}G` + pen.set(0, state.placeholder, 0, pen.link) + `\x1b[X\x1b[B\x1b[${x + 1}G`
    }
  }
  state.pendingWrap = false
  state.placeholder = null
  state.startAt = 0
  state.inside = false
  state.eraseHead = false
  const fill = state.fill

  // The row is blank from `end` on (cells the fresh row already has).
  let end = cols
  if (!wrapsOn) {
    while (end > c) {
      const at = (end - 1) * CELL_SIZE
      if ((data[at]! & HAS_CONTENT) !== 0 || data[at]! >>> WIDTH_SHIFT !== 1) break
      if (data[at + 1] !== 0 || data[at + 2] !== fill) break
      end--
    }
    if (erase0 && end === 0) end = 1
  }

  /** A column holding a stand-in that must be written over even if it is blank. */
  let dirty = -1
  /** A split wide cell in the last two columns, written after the wrap (`placeholder`). */
  let deferred: string | null = null
  while (c < end) {
    const at = c * CELL_SIZE
    const content = data[at]!
    const width = content >>> WIDTH_SHIFT
    if (content & HAS_CONTENT && !isCutWide(data, c, cols)) {
      if (x !== c) out += `\x1b[${c + 1}G`
      if (width === 0) {
        // A zero-width character in a cell of its own (printed where it had nothing to join):
        // any escape sequence before it keeps it from joining the cell before.
        forget(pen)
        out += pen.cell(line, c) + cellText(line, c, content)
        x = c + 1
        c++
        continue
      }
      const split = isSplitWide(data, c, cols) ? detached(pen, () => splitWide(pen.core, line, c, cols, pen, fill)) : null
      if (split) {
        if (wrapsOn && split.x !== cols)
          deferred = split.out // a print in the last column would blank it
        else out += split.out
        forget(pen)
        x = split.x
        c += 2
        continue
      }
      out += pen.cell(line, c) + cellText(line, c, content)
      x = c + width
      c += Math.max(width, 1)
      continue
    }
    if (width === 0) {
      c++ // the right half of a wide character (written with its left half)
      continue
    }
    // A run of blank cells with the same attributes.
    const fg = data[at + 1]!
    const bg = data[at + 2]! & ~BG_HAS_EXTENDED
    let e = c + 1
    while (e < end) {
      const a = e * CELL_SIZE
      if (
        (data[a]! & HAS_CONTENT) !== 0 ||
        data[a]! >>> WIDTH_SHIFT !== 1 ||
        data[a + 1] !== fg ||
        (data[a + 2]! & ~BG_HAS_EXTENDED) !== bg
      )
        break
      e++
    }
    if (e === cols && c === cols - 1 && wrapsOn && wrapsOn._data[0]! >>> WIDTH_SHIFT === 2) {
      // A wide character that did not fit: xterm left this blank (in the pen of the character)
      // and moved the character to the next row; printing it here does exactly that again.
      const next = wrapsOn._data
      if (next[1] === fg && (next[2]! & ~BG_HAS_EXTENDED) === bg) {
        if (state.split) {
          out += pen.reset()
          state.headAt = out.length
          out += `\x1b[${c + 1}G`
        } else if (x !== c) out += `\x1b[${c + 1}G`
        out += state.beforeWrap + pen.cell(wrapsOn, 0) + cellText(wrapsOn, 0, next[0]!)
        state.beforeWrap = ''
        state.startAt = 2
        state.inside = true
        return out
      }
    }
    if (!erasable(fg, bg) || data[at + 2]! & BG_HAS_EXTENDED) {
      // Blanks in a pen ECH cannot make. xterm makes them when a print overwrites the right
      // half of a wide character (the left half is blanked in the printing pen): do that.
      for (; c < e; c++) {
        if (c === cols - 1) {
          if (wrapsOn) break // the wrap below makes it
          out += lastBlank(line, cols, pen)
          x = cols - 1
          break
        }
        out += `\x1b[${c + 1}G` + pen.cell(line, c) + WIDE_STAND_IN + `\x1b[${c + 2}G `
        x = c + 2
        dirty = c + 1
      }
      c = e
      continue
    }
    if (erase0 && c === 0) erase0 = false
    else if (fg === 0 && bg === fill && dirty !== c) {
      c = e // the fresh row is already blank here
      continue
    }
    if (x !== c) out += `\x1b[${c + 1}G`
    x = c
    out += pen.set(0, bg & (CM_MASK | COLOR_MASK), 0, pen.link) + `\x1b[${e - c}X`
    c = e
  }
  if (dirty >= end) {
    // The stand-in's ' ' sits in the trailing blanks skipped above (the fresh row has them, but
    // not there): erase it in the cell's own colour.
    if (x !== dirty) out += `\x1b[${dirty + 1}G`
    out += pen.set(0, data[dirty * CELL_SIZE + 2]! & (CM_MASK | COLOR_MASK), 0, pen.link) + '\x1b[X'
    x = dirty
  }

  if (wrapsOn) {
    const last = (cols - 1) * CELL_SIZE
    const lastFg = data[last + 1]!
    const lastBg = data[last + 2]!
    const lastIsBlank = (data[last]! & HAS_CONTENT) === 0 || isCutWide(data, cols - 1, cols)
    if (x !== cols && lastIsBlank && (!erasable(lastFg, lastBg & ~BG_HAS_EXTENDED) || lastBg & BG_HAS_EXTENDED)) {
      // A blank in a pen ECH cannot make, before a wrap: a wide character that does not fit
      // leaves exactly that (xterm blanks the cell in the character's pen and wraps); the next
      // row blanks the character's two cells again.
      if (state.split) {
        out += pen.reset()
        state.headAt = out.length
      }
      out += state.beforeWrap + `\x1b[${cols}G` + pen.cell(line, cols - 1) + WIDE_STAND_IN
      state.beforeWrap = ''
      state.inside = true
      state.eraseHead = true
      return out
    }
    if (x !== cols) {
      // The row ends in blanks but wraps on: a stand-in in the last column gives the pending
      // wrap; the next row blanks it once it has wrapped.
      state.placeholder = deferred ?? data[(cols - 1) * CELL_SIZE + 2]! & (CM_MASK | COLOR_MASK)
      out += `\x1b[${cols}G` + pen.reset() + ' '
    }
    state.pendingWrap = true
  }
  return out
}
