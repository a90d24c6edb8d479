/**
 * Fast-forward for the daemon's headless screens: during a flood, text that is bound to scroll
 * out of the scrollback before anybody can look at it is not printed, only counted.
 *
 * Why this is exact. A screen holds `capacity` lines (scrollback + rows). Take a run of output
 * made only of printable ASCII, CR, LF and SGR sequences (`ESC [ digits ; : m`), starting from a
 * screen in the normal buffer with a full-height scroll region, autowrap on and no charset
 * mapping. Inside such a run, text changes cell contents and moves the cursor, and nothing else;
 * SGR changes only the current attributes. If, after some point P of the run, the rest of the
 * run moves the cursor down (line feeds plus autowrap) `scrollback + 2 * rows` more times, every
 * line that existed at P has been scrolled out and recycled by the time the run ends (at most
 * rows - 1 of those moves do not scroll; each of the rest pushes a line or evicts the oldest).
 * So what the run printed before P cannot be seen in any later state of the screen, and the
 * screen may reach P by a much cheaper path that ends in the same state:
 *
 *   the SGR sequences that make the attributes at P (see TextRun), then CR, then as many LFs as
 *   the skipped text moved the cursor down (capped at what fills the buffer and reaches the
 *   bottom).
 *
 * P is always just after an LF that leaves the cursor in column 0, so both paths end with the
 * same control character, in the same column, row and line count, with the same attributes.
 * Cuts and resizes end a run (they are not part of the byte stream), so a snapshot never sees a
 * fast-forwarded screen that differs from a fully parsed one. test/screen/fast-forward.test.ts
 * checks this against plain xterm on randomized streams.
 *
 * A run is scanned once, incrementally, as chunks arrive; which state the scan starts from is
 * read off the terminal by the caller (screen.ts).
 */

/** The screen's state at the start of a run, as far as the scan needs it. */
export interface RunStart {
  /** Cursor column; `cols` means a wrap is pending. */
  x: number
  cols: number
  /** LF also returns the carriage (xterm's convertEol, set by LNM). */
  convertEol: boolean
}

/** How to reach a point of the run without printing: feed `sgr`, then CR, then LFs. */
export interface Skip {
  /** Stream offset just after the LF the skip ends at. */
  offset: number
  /** Cursor moves down between the head and `offset`: the LFs to feed (before the caller's cap). */
  lineFeeds: number
  /** SGR sequences that set the attributes at `offset`, to apply in order. */
  sgr: Uint8Array[]
}

const ESC = 0x1b
const SGR_RESET_SHORT = new Uint8Array([0x1b, 0x5b, 0x6d])
const SGR_RESET = new Uint8Array([0x1b, 0x5b, 0x30, 0x6d])
const CR = 0x0d
const LF = 0x0a

/** Where the escape-sequence recognizer is between bytes. */
// biome-ignore lint/suspicious/noConstEnum: inlined by tsc into the per-byte loop; nothing imports it
const enum Esc {
  None,
  /** Saw ESC. */
  Start,
  /** Saw ESC [, collecting parameters. */
  Params,
}

/**
 * Skip points are kept at least this far apart (plus the last one of every chunk): dense enough
 * that a skip lands close to the furthest possible point, sparse enough that a flood of short
 * lines does not cost an object per line.
 */
export const POINT_SPACING_BYTES = 4096

/** Longest escape sequence the scan follows across chunks; a longer one ends the run. */
const MAX_SGR_BYTES = 64

/**
 * Most distinct SGR sequences a run remembers since the last full reset; more end the run (its
 * text is then parsed as usual). Logs that colour without ever resetting cycle through a few.
 */
export const MAX_SGR_STATE = 64

/**
 * One run of plain text from the parse head on. Offsets are positions in the screen's output
 * stream; `inc` counts cursor moves down since the run started.
 *
 * The attributes a skip must restore are kept as the SGR sequences seen since the last full
 * reset, each distinct one once, in the order of its last use. That is enough, and replaying it
 * on top of any of the states the run passed through gives the same result, because every SGR
 * parameter sets attributes to fixed values (none toggles): a later use of a sequence redoes all
 * the earlier one did, and a full reset undoes everything before it.
 */
export class TextRun {
  /** False once a byte that is not plain text or SGR was scanned (or close() was called). */
  open = true
  private x: number
  private readonly cols: number
  private readonly convertEol: boolean
  private inc = 0
  /** Stream offset up to which the run has been scanned. */
  private end: number
  private esc = Esc.None
  /** The bytes so far of an escape sequence that a chunk boundary cut. */
  private escPending: number[] = []
  /** Chunk ends seen by scan(): the parse head lands on these after a whole chunk is parsed. */
  private readonly bounds: Mark[] = []
  /** Skip points: after an LF that leaves column 0 (see POINT_SPACING_BYTES). */
  private readonly points: Point[] = []
  private lastPoint = -Infinity
  /** The SGR state at the scan position (see the class comment). */
  private sgr: Uint8Array[] = []
  /** Whether a skip point holds `sgr` (it is then copied before it changes). */
  private sgrShared = false
  /** Where the terminal is: its offset and `inc` there. */
  private head: Mark

  constructor(start: RunStart, offset: number) {
    this.x = start.x
    this.cols = start.cols
    this.convertEol = start.convertEol
    this.end = offset
    this.head = { offset, inc: 0 }
  }

  /** Stream offset up to which the run has been scanned. */
  get scanned(): number {
    return this.end
  }

  /** Scans the next chunk of the stream (it starts where the last one ended). */
  scan(chunk: Uint8Array): void {
    if (!this.open) return
    const cols = this.cols
    let { x, inc, esc } = this
    /** Where in `chunk` the current escape sequence began; -1: in an earlier chunk. */
    let escStart = -1
    /** The latest skip point in this chunk not yet saved: its offset in `chunk`, or -1. */
    let point = -1
    let pointInc = 0
    // The chunk four bytes at a time, for the stretches of printable characters (printableEnd).
    const wordsAt = wordsOffset(chunk)
    const words = wordsOf(chunk, wordsAt)
    let i = 0
    for (; i < chunk.length; i++) {
      const byte = chunk[i]!
      if (esc === Esc.None) {
        if (byte >= 0x20 && byte < 0x7f) {
          // A stretch of printable characters at once: how far it reaches, then where the
          // cursor ends (each character past the last column wraps first, as xterm does).
          const end = printableEnd(chunk, words, wordsAt, i + 1)
          const count = end - i
          i = end - 1
          const room = cols - x
          if (count <= room) x += count
          else {
            const wraps = Math.ceil((count - room) / cols)
            inc += wraps
            x = count - room - (wraps - 1) * cols
          }
        } else if (byte === LF) {
          inc++
          if (this.convertEol) x = 0
          else if (x >= cols) x--
          if (x === 0) {
            point = i + 1
            pointInc = inc
            if (this.end + point - this.lastPoint >= POINT_SPACING_BYTES) point = this.savePoint(point, inc)
          }
        } else if (byte === CR) x = 0
        else if (byte === ESC) {
          esc = Esc.Start
          escStart = i
        } else break
      } else if (esc === Esc.Start) {
        if (byte !== 0x5b) break
        esc = Esc.Params
      } else if (byte === 0x6d) {
        const known = escStart < 0 ? this.takePending(chunk.subarray(0, i + 1)) : this.addSgr(chunk, escStart, i + 1)
        if (!known) break
        esc = Esc.None
      } else if (byte < 0x30 || byte > 0x3b) break // not a digit, ':' or ';'
    }
    this.x = x
    this.inc = inc
    this.esc = esc
    if (point >= 0) this.savePoint(point, pointInc)
    if (i < chunk.length) {
      this.open = false
      this.end += i
      return
    }
    if (esc !== Esc.None) {
      this.escPending.push(...chunk.subarray(Math.max(escStart, 0)))
      if (this.escPending.length > MAX_SGR_BYTES) this.open = false
    }
    this.end += chunk.length
    this.bounds.push({ offset: this.end, inc })
  }

  /** Ends the run here: something other than output (a cut, a resize) comes next. */
  close(): void {
    this.open = false
  }

  /**
   * The furthest point the head can skip to: one followed, within the scanned run, by at least
   * `evictingMoves` cursor moves down (see the file comment). Null when none is far enough.
   */
  skip(evictingMoves: number): Skip | null {
    let found: Point | undefined
    for (let i = this.points.length - 1; i >= 0 && !found; i--) {
      if (this.inc - this.points[i]!.inc >= evictingMoves) found = this.points[i]
    }
    if (!found || found.offset <= this.head.offset) return null
    const skip = { offset: found.offset, lineFeeds: found.inc - this.head.inc, sgr: found.sgr }
    this.moveHead(found)
    return skip
  }

  /** The terminal parsed everything up to `offset`; false if the run cannot follow it there. */
  parsedTo(offset: number): boolean {
    const bound = this.bounds.find((b) => b.offset === offset)
    if (!bound) return false
    this.moveHead(bound)
    return true
  }

  private moveHead(to: Mark): void {
    this.head = { offset: to.offset, inc: to.inc }
    dropWhile(this.bounds, (b) => b.offset <= to.offset)
    dropWhile(this.points, (p) => p.offset <= to.offset)
  }

  /** Saves a skip point `at` bytes into the chunk being scanned; returns -1 (nothing pending). */
  private savePoint(at: number, inc: number): -1 {
    const offset = this.end + at
    this.points.push({ offset, inc, sgr: this.sgr })
    this.sgrShared = true
    this.lastPoint = offset
    return -1
  }

  private takePending(rest: Uint8Array): boolean {
    const bytes = new Uint8Array(this.escPending.length + rest.length)
    bytes.set(this.escPending)
    bytes.set(rest, this.escPending.length)
    this.escPending = []
    return this.addSgr(bytes, 0, bytes.length)
  }

  /**
   * Adds the SGR sequence `chunk[from, to)` to the state (see the class comment); false when the
   * state would hold more than MAX_SGR_STATE sequences.
   */
  private addSgr(chunk: Uint8Array, from: number, to: number): boolean {
    const length = to - from
    // `ESC [ m` and `ESC [ 0 m` reset every attribute: nothing before them matters any more.
    if (length === 3 || (length === 4 && chunk[from + 2] === 0x30)) {
      this.sgr = [length === 3 ? SGR_RESET_SHORT : SGR_RESET]
      this.sgrShared = false
      return true
    }
    const state = this.sgr
    if (state.length > 0 && sameBytes(state[state.length - 1]!, chunk, from, to)) return true
    let at = state.length - 2
    while (at >= 0 && !sameBytes(state[at]!, chunk, from, to)) at--
    if (at < 0 && state.length >= MAX_SGR_STATE) return false
    const next = this.sgrShared ? state.slice() : state
    const seen = at < 0 ? chunk.slice(from, to) : next.splice(at, 1)[0]!
    next.push(seen)
    this.sgr = next
    this.sgrShared = false
    return true
  }
}

/** A position in the stream and the run's count of cursor moves down there. */
interface Mark {
  offset: number
  inc: number
}

interface Point extends Mark {
  /** The SGR state there (shared, never modified). */
  sgr: Uint8Array[]
}

/** A chunk shorter than this is scanned byte by byte (a view for its words would cost more than it saves). */
const MIN_WORDS_BYTES = 32
const LOW_BYTES = 0x20202020 | 0
const ONE_BYTES = 0x01010101 | 0
const HIGH_BITS = 0x80808080 | 0

/** Where in `chunk` its first whole aligned 4-byte word starts (0 to 3). */
export function wordsOffset(chunk: Uint8Array): number {
  return (4 - (chunk.byteOffset & 3)) & 3
}

/** The whole aligned words of `chunk` from `wordsAt` on, as a view; null for a short chunk. */
export function wordsOf(chunk: Uint8Array, wordsAt: number): Int32Array | null {
  if (chunk.length - wordsAt < MIN_WORDS_BYTES) return null
  return new Int32Array(chunk.buffer, chunk.byteOffset + wordsAt, (chunk.length - wordsAt) >> 2)
}

/**
 * Where the printable ASCII (0x20 to 0x7e) that goes on at `from` ends: the index of the first
 * other byte, or the chunk's length. Most of a text flood is such stretches, and this is the
 * scan's inner loop, so it tests four bytes at once where it can: `words` views the chunk's
 * bytes from `wordsAt` on (null for a short chunk). A word holds a byte below 0x20 when
 * `(w - 0x20202020) & ~w & 0x80808080` is not 0, and one above 0x7e when
 * `((w + 0x01010101) | w) & 0x80808080` is not 0 (both exact for "any byte", whatever the
 * byte order); the word that fails is then looked at byte by byte.
 */
export function printableEnd(chunk: Uint8Array, words: Int32Array | null, wordsAt: number, from: number): number {
  const n = chunk.length
  let i = from
  let byte: number
  while (i < n && ((i - wordsAt) & 3) !== 0) {
    byte = chunk[i]!
    if (byte < 0x20 || byte >= 0x7f) return i
    i++
  }
  if (i >= n) return i
  if (words !== null) {
    let w = (i - wordsAt) >> 2
    while (w < words.length) {
      const word = words[w]!
      if ((((word - LOW_BYTES) & ~word) | ((word + ONE_BYTES) | word)) & HIGH_BITS) break
      w++
    }
    i = wordsAt + 4 * w
  }
  while (i < n && (byte = chunk[i]!) >= 0x20 && byte < 0x7f) i++
  return i
}

function sameBytes(a: Uint8Array, chunk: Uint8Array, from: number, to: number): boolean {
  if (a.length !== to - from) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== chunk[from + i]) return false
  return true
}

function dropWhile<T>(list: T[], test: (item: T) => boolean): void {
  let n = 0
  while (n < list.length && test(list[n]!)) n++
  if (n > 0) list.splice(0, n)
}
