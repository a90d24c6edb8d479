/**
 * Everything a terminal's future depends on, read out of an xterm (public API plus the core
 * fields the public API does not expose), so that two terminals can be compared whole: the cells
 * of every row of both screens with their attributes, wrapped rows, the cursor, the pen, saved
 * cursors, tab stops, scroll regions, charsets and modes. Used to check snapshots against plain
 * xterm fed the same bytes.
 */
import xtermHeadless, { type Terminal } from '@xterm/headless'

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyObj = any

const HAS_EXTENDED = 0x10000000
const UNDERLINE = 0x10000000
/** Underline style and colour in xterm's extended attributes. */
const UNDERLINE_BITS = 0x1c000000 | 0x3ffffff

function linkOf(core: AnyObj, urlId: number): string | null {
  if (!urlId) return null
  const data = core._oscLinkService.getLinkData(urlId)
  return data ? `${data.id ?? ''};${data.uri}` : null
}

/**
 * The underline as xterm draws it: its style (the flag with no extended attributes is a single
 * line; the flag with style 0 is none) and, when there is one, its colour. Flag and style are
 * set together by SGR; only DECRC (which restores fg, not the style) separates them, and the
 * result draws the same as the style alone.
 */
function underlineOf(fg: number, ext: number | undefined): number {
  if (!(fg & UNDERLINE)) return 0
  if (ext === undefined) return 1 << 26
  return ext & 0x1c000000 ? ext & UNDERLINE_BITS : 0
}

function rowOf(core: AnyObj, line: AnyObj, cols: number): string {
  const cells: string[] = []
  const cell: AnyObj = {}
  for (let x = 0; x < cols; x++) {
    line.loadCell(x, cell)
    const ext = cell.bg & HAS_EXTENDED ? line._extendedAttrs[x] : undefined
    // A wide character in the last column: xterm's resize leaves one there when it narrows a
    // row, and no print can make one (a wide character that does not fit wraps or is skipped),
    // so a snapshot writes it as the blank in its attributes; it is compared as that blank
    // (docs/daemon.md, "Snapshots").
    const cutWide = cell.content >>> 22 === 2 && x === cols - 1
    const chars = cell.content & 0x200000 ? line._combined[x] : cell.content & 0x1fffff ? String.fromCodePoint(cell.content & 0x1fffff) : ''
    const width = cutWide ? 1 : cell.content >>> 22
    // Underline style and colour show only on underlined cells (xterm renders neither without
    // the underline flag, and a cell's attributes never change once written).
    const link = ext ? linkOf(core, ext.urlId) : null
    cells.push(
      `${JSON.stringify(cutWide ? '' : chars)}/${width}/${cell.fg & ~UNDERLINE}/${cell.bg & ~HAS_EXTENDED}/${underlineOf(cell.fg, ext?._ext)}/${link}`,
    )
  }
  // Runs of identical cells are folded, so a failure prints readably.
  const folded: string[] = []
  for (let i = 0; i < cells.length; ) {
    let j = i + 1
    while (j < cells.length && cells[j] === cells[i]) j++
    folded.push(j - i > 1 ? `${cells[i]}×${j - i}` : cells[i]!)
    i = j
  }
  return (line.isWrapped ? 'W ' : '  ') + folded.join(' ')
}

/**
 * `screenOnly`: the alternate buffer, whose rows above its screen are left out. It has no
 * scrollback, but a resize while the normal screen is shown leaves its row limit at the old
 * height, so after a shrink it keeps rows above its screen as it scrolls: no sequence makes those
 * in a fresh terminal, and leaving the alternate screen discards them (docs/daemon.md, "Snapshots").
 */
function bufferOf(core: AnyObj, buf: AnyObj, cols: number, rows: number, withRows: boolean, withCursor = withRows, screenOnly = false) {
  const lines: string[] = []
  const from = screenOnly ? buf.ybase : 0
  if (withRows) for (let i = from; i < buf.lines.length; i++) lines.push(rowOf(core, buf.lines.get(i), cols))
  const tabs: number[] = []
  for (let c = 0; c < cols; c++) if (buf.tabs[c]) tabs.push(c)
  return {
    lines,
    ybase: buf.ybase - from,
    cursor: withCursor ? { x: buf.x, y: buf.y } : null,
    scrollRegion: [buf.scrollTop, buf.scrollBottom],
    tabs: withRows ? tabs : null,
    saved: {
      // What DECRC would restore (it clamps), relative to the buffer's current base.
      x: Math.min(buf.savedX, cols - 1),
      y: Math.min(rows - 1, Math.max(0, buf.savedY - buf.ybase)),
      fg: buf.savedCurAttrData.fg,
      bg: buf.savedCurAttrData.bg & ~HAS_EXTENDED,
      charset: buf.savedCharset ?? null,
    },
  }
}

export function terminalState(term: Terminal) {
  const core = (term as unknown as { _core: AnyObj })._core
  const buffers = core.buffers
  const altActive = buffers.active === buffers.alt
  const cols = term.cols
  const rows = term.rows
  const attr = core._inputHandler._curAttrData
  const charsets = core._charsetService
  const modes = core.coreService.decPrivateModes
  return {
    size: [cols, rows],
    altActive,
    // The normal screen's cursor is overwritten from the alternate one's when it comes back.
    normal: bufferOf(core, buffers.normal, cols, rows, true, !altActive),
    // The alternate screen's rows only exist while it is shown; its saved cursor always.
    alt: bufferOf(core, buffers.alt, cols, rows, altActive, altActive, true),
    // The pen's underline style counts only while it underlines (see underlineOf); its colour
    // always (a later SGR 4 shows it).
    pen: {
      fg: attr.fg & ~UNDERLINE,
      bg: attr.bg & ~HAS_EXTENDED,
      underline: underlineOf(attr.fg, attr.extended._ext),
      underlineColor: attr.extended._ext & 0x3ffffff,
      link: linkOf(core, attr.extended.urlId),
    },
    charsets: { g: [0, 1, 2, 3].map((g) => charsets._charsets[g] ?? null), glevel: charsets.glevel, current: charsets.charset ?? null },
    modes: {
      ...term.modes,
      cursorStyle: modes.cursorStyle,
      cursorBlink: modes.cursorBlink,
      cursorHidden: core.coreService.isCursorHidden,
      mouseEncoding: core.coreMouseService.activeEncoding,
      convertEol: core.optionsService.rawOptions.convertEol,
      cursorBlinkOption: core.optionsService.rawOptions.cursorBlink,
    },
  }
}

export type Step = { op: 'write'; data: Uint8Array } | { op: 'cut' } | { op: 'resize'; cols: number; rows: number }

/** How a property test chops a stream: chunk sizes, and how often a cut or a resize falls between chunks. */
export interface Chopping {
  /** Share of tiny (1–4 byte) chunks, and the largest other chunk. */
  tinyShare: number
  maxChunk: number
  /** A random draw below cutBelow cuts; below resizeBelow (and not a cut) resizes. */
  cutBelow: number
  resizeBelow: number
  cols: [min: number, span: number]
  rows: [min: number, span: number]
}

/** A stream as writes with cuts and resizes between them, ending with a cut; the same rng gives the same steps. */
export function chopStream(rng: () => number, bytes: Uint8Array, c: Chopping): Step[] {
  const steps: Step[] = []
  for (let at = 0; at < bytes.length; ) {
    const size = rng() < c.tinyShare ? 1 + Math.floor(rng() * 4) : 1 + Math.floor(rng() * c.maxChunk)
    steps.push({ op: 'write', data: bytes.slice(at, at + size) })
    at += size
    const r = rng()
    if (r < c.cutBelow) steps.push({ op: 'cut' })
    else if (r < c.resizeBelow)
      steps.push({ op: 'resize', cols: c.cols[0] + Math.floor(rng() * c.cols[1]), rows: c.rows[0] + Math.floor(rng() * c.rows[1]) })
  }
  steps.push({ op: 'cut' })
  return steps
}

export const settle = (term: Terminal) => new Promise<void>((resolve) => term.write('', resolve))

/** A late viewer: a fresh terminal of the snapshot's size, reset, fed the snapshot; its whole state. */
export async function applied(snapshot: { cols: number; rows: number; data: string }, scrollback: number) {
  const term = new xtermHeadless.Terminal({ cols: snapshot.cols, rows: snapshot.rows, scrollback, allowProposedApi: true, logLevel: 'off' })
  term.write('\x1bc' + snapshot.data)
  await settle(term)
  const state = terminalState(term)
  term.dispose()
  return state
}

/**
 * Plain xterm fed `steps` through its public API, read at every cut `covered[i]` bytes after it
 * (where the daemon's screen took that cut: the end of the escape sequence it fell in).
 */
export async function plainXtermAt<T>(
  opts: { cols: number; rows: number; scrollback: number },
  steps: Step[],
  covered: number[],
  read: (term: Terminal) => T,
): Promise<T[]> {
  const term = new xtermHeadless.Terminal({ ...opts, allowProposedApi: true, logLevel: 'off' })
  const states: T[] = []
  // Cuts still to take, with the bytes left to write before each.
  const pending: number[] = []
  let cut = 0
  for (const step of steps) {
    if (step.op === 'write') {
      let data = step.data
      while (pending.length && data.length >= pending[0]!) {
        term.write(data.subarray(0, pending[0]!))
        data = data.subarray(pending.shift()!)
        await settle(term)
        states.push(read(term))
      }
      if (pending.length) pending[0]! -= data.length
      term.write(data)
    } else if (step.op === 'cut') {
      if ((covered[cut++] ?? 0) === 0 && pending.length === 0) {
        await settle(term)
        states.push(read(term))
      } else pending.push(covered[cut - 1]!)
    } else {
      await settle(term)
      while (pending.length) {
        pending.shift()
        states.push(read(term)) // a sequence cut short by a resize: taken where it stopped
      }
      term.resize(step.cols, step.rows)
    }
  }
  await settle(term)
  while (pending.length && pending.shift() !== undefined) states.push(read(term))
  term.dispose()
  return states
}
