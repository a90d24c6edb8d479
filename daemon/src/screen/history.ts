/**
 * The compact scrollback of a screen: rows that scrolled out of xterm's (small) buffer, kept as
 * the text that writes them (serialize.ts, `compactRow`), in the order they left, instead of
 * 12 bytes a cell. A snapshot writes these rows as they are, so an attach costs the same
 * however long the history is (docs/daemon.md, "Snapshots").
 *
 * Each row is stored as its `head` (what enters the row from the end of the row above: a line
 * break, nothing when the row above wraps into it, or the wide character the row above moved into
 * it) followed by its body, encoded as UTF-8 into chunks of CHUNK_ROWS rows as it arrives: a row's
 * text is garbage as soon as it is stored, and the history is its bytes (plus 9 a row) outside
 * the JavaScript heap.
 */

/** How a row is entered from the row above. */
export const Entry = {
  /** A line break: the row starts a logical line. */
  Line: 0,
  /** The row above ends in the pending wrap; the row's first print wraps into it. */
  Wrap: 1,
  /** The row above moved a wide character into this row (the head prints it). */
  Inside: 2,
} as const
export type Entry = (typeof Entry)[keyof typeof Entry]

/** Rows per chunk. */
const CHUNK_ROWS = 256
/** First size of a chunk's byte buffer (it doubles as needed and is cut to size when full). */
const CHUNK_START_BYTES = 16 * 1024

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const LINE_BREAK = encoder.encode('\r\n')
/** Back to the row's start, erasing it (and what is below), which takes it off the wrap (see unwrap). */
const CLOSE_LINK = '\x1b]8;;\x1b\\'
export const UNWRAP = '\x1b[1G\x1b[J'

/** Bytes another thread can hold without a copy (posting a view of them shares them). */
function sharedBytes(size: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(size))
}

/**
 * The stored rows of a snapshot, by reference (CompactHistory.share): the snapshot's text is its
 * text without them, with them put in at `at` (see sharedRowsText).
 */
export interface SharedRows {
  /** Where the rows go in the snapshot's text (UTF-16 code units). */
  at: number
  /** In order: UTF-8 views of the history's chunks (never changed once written) and text put in between. */
  pieces: (Uint8Array | string)[]
}

/** The text the rows stand for: exactly what `write` would have put in their place. */
export function sharedRowsText(rows: SharedRows): string {
  return rows.pieces.map((piece) => (typeof piece === 'string' ? piece : decoder.decode(piece))).join('')
}

/** A snapshot's whole text from its text without the rows and the rows (see CompactHistory.share). */
export function withSharedRows(data: string, rows: SharedRows | null): string {
  return rows ? data.slice(0, rows.at) + sharedRowsText(rows) + data.slice(rows.at) : data
}

class Chunk {
  bytes = sharedBytes(CHUNK_START_BYTES)
  used = 0
  rows = 0
  /** End of each row's bytes. */
  readonly ends = new Int32Array(CHUNK_ROWS)
  /** Byte length of each row's head. */
  readonly heads = new Int32Array(CHUNK_ROWS)
  readonly kinds = new Uint8Array(CHUNK_ROWS)

  get full(): boolean {
    return this.rows === CHUNK_ROWS
  }

  push(kind: Entry, head: string, body: string): void {
    this.reserve(3 * (head.length + body.length))
    const headBytes = head ? encoder.encodeInto(head, this.bytes.subarray(this.used)).written : 0
    this.used += headBytes
    if (body) this.used += encoder.encodeInto(body, this.bytes.subarray(this.used)).written
    this.ends[this.rows] = this.used
    this.heads[this.rows] = headBytes
    this.kinds[this.rows] = kind
    this.rows++
    // A full chunk keeps only the bytes it holds.
    if (this.full && this.bytes.length > this.used) this.bytes = this.copy(this.used)
  }

  start(row: number): number {
    return row === 0 ? 0 : this.ends[row - 1]!
  }

  /** Puts a line break at the start of row `row` (its head becomes one). */
  breakBefore(row: number): void {
    const at = this.start(row)
    const bytes = sharedBytes(this.used + LINE_BREAK.length)
    bytes.set(this.bytes.subarray(0, at))
    bytes.set(LINE_BREAK, at)
    bytes.set(this.bytes.subarray(at, this.used), at + LINE_BREAK.length)
    this.bytes = bytes
    this.used += LINE_BREAK.length
    for (let k = row; k < this.rows; k++) this.ends[k]! += LINE_BREAK.length
    this.heads[row] = this.heads[row]! + LINE_BREAK.length
  }

  /** Replaces row `row` with `head` + `body` (UTF-8) entered as `kind`. */
  replace(row: number, kind: Entry, head: Uint8Array, body: Uint8Array): void {
    const start = this.start(row)
    const end = this.ends[row]!
    const size = head.length + body.length
    const delta = size - (end - start)
    // New memory: the old bytes may be shared with a snapshot still being sent.
    const bytes = sharedBytes(this.used + delta)
    bytes.set(this.bytes.subarray(0, start))
    bytes.set(head, start)
    bytes.set(body, start + head.length)
    bytes.set(this.bytes.subarray(end, this.used), start + size)
    this.bytes = bytes
    this.used += delta
    for (let k = row; k < this.rows; k++) this.ends[k]! += delta
    this.heads[row] = head.length
    this.kinds[row] = kind
  }

  private reserve(more: number): void {
    if (this.used + more <= this.bytes.length) return
    let size = this.bytes.length * 2
    while (size < this.used + more) size *= 2
    this.bytes = this.copy(size)
  }

  /** The bytes written so far in new memory of `size` bytes (the old memory is left as it is). */
  private copy(size: number): Uint8Array {
    const bytes = sharedBytes(size)
    bytes.set(this.bytes.subarray(0, this.used))
    return bytes
  }
}

export class CompactHistory {
  private chunks: Chunk[] = []
  /** Rows of the first chunk already dropped. */
  private skip = 0
  private total = 0
  /** Rows dropped so far: the oldest row's number, counting every row ever stored. */
  private dropped = 0
  /** While `share` runs: where `write` puts the rows instead of into the text. */
  private sharing: SharedRows | null = null

  get count(): number {
    return this.total
  }

  /** The number of the oldest stored row (rows are numbered as they are stored, from 0). */
  get first(): number {
    return this.dropped
  }

  push(kind: Entry, head: string, body: string): void {
    let last = this.chunks[this.chunks.length - 1]
    if (!last || last.full) this.chunks.push((last = new Chunk()))
    last.push(kind, head, body)
    this.total++
  }

  /** Drops the oldest `n` rows. */
  dropFirst(n: number): void {
    n = Math.min(n, this.total)
    this.total -= n
    this.dropped += n
    while (n > 0) {
      const chunk = this.chunks[0]!
      const left = chunk.rows - this.skip
      if (n < left || (n === left && !chunk.full)) {
        this.skip += n
        return
      }
      n -= left
      this.chunks.shift()
      this.skip = 0
    }
  }

  clear(): void {
    this.dropped += this.total
    this.chunks = []
    this.skip = 0
    this.total = 0
  }

  /** How the oldest row is entered (what a snapshot must put above it when it continues a line). */
  get firstKind(): Entry {
    return this.chunks[0]!.kinds[this.skip]! as Entry
  }

  /** Where row `i` (0: the oldest) is, as its chunk and its index there. */
  private locate(i: number): { chunk: Chunk; at: number } | null {
    if (i < 0 || i >= this.total) return null
    let at = i + this.skip
    for (const chunk of this.chunks) {
      if (at < chunk.rows) return { chunk, at }
      at -= chunk.rows
    }
    return null
  }

  /** How row `i` (0: the oldest) is entered. */
  kindAt(i: number): Entry {
    const found = this.locate(i)
    return (found ? found.chunk.kinds[found.at]! : Entry.Line) as Entry
  }

  /**
   * Row `i` (0: the oldest) becomes the row `body` writes, starting a logical line (a row that
   * DECALN overwrote in the deeper buffer, see compact.ts).
   */
  replaceLine(i: number, body: string): void {
    const found = this.locate(i)
    if (found) found.chunk.replace(found.at, Entry.Line, LINE_BREAK, encoder.encode(body))
  }

  /** Puts `prefix` before the head of row `i` (0: the oldest). */
  prefixHead(i: number, prefix: string): void {
    const found = this.locate(i)
    if (!found) return
    const { chunk, at } = found
    const start = chunk.start(at)
    const headEnd = start + chunk.heads[at]!
    const head = encoder.encode(prefix + decoder.decode(chunk.bytes.subarray(start, headEnd)))
    chunk.replace(at, chunk.kinds[at]! as Entry, head, chunk.bytes.slice(headEnd, chunk.ends[at]!))
  }

  /**
   * The head of row `i` (0: the oldest) when the row above moved a wide character into it that
   * carries a hyperlink: the character is printed in the row above's last column and wraps, so
   * xterm ties the link to the row above (which, for the oldest row, is a stand-in the snapshot
   * removes, and the link with it). Printing it again at the row's start ties it to this row.
   */
  relinkHead(i: number, moveTo: string): void {
    const found = this.locate(i)
    if (!found || found.chunk.kinds[found.at] !== Entry.Inside) return
    const { chunk, at } = found
    const start = chunk.start(at)
    const headEnd = start + chunk.heads[at]!
    const head = decoder.decode(chunk.bytes.subarray(start, headEnd))
    if (!head.startsWith(moveTo) || !head.replaceAll(CLOSE_LINK, '').includes('\x1b]8;')) return
    const again = head + '\x1b[1G' + head.slice(moveTo.length)
    chunk.replace(at, Entry.Inside, encoder.encode(again), chunk.bytes.slice(headEnd, chunk.ends[at]!))
  }

  /**
   * Takes `prefix` off the head of row `i` (0: the oldest) when it starts with it: the row above
   * now ends where the head's print starts (compact.ts, DECALN).
   */
  trimHead(i: number, prefix: string): void {
    const found = this.locate(i)
    if (!found) return
    const { chunk, at } = found
    const cut = encoder.encode(prefix)
    const start = chunk.start(at)
    const headEnd = start + chunk.heads[at]!
    const head = chunk.bytes.subarray(start, headEnd)
    if (head.length < cut.length || cut.some((byte, k) => head[k] !== byte)) return
    chunk.replace(at, chunk.kinds[at]! as Entry, head.slice(cut.length), chunk.bytes.slice(headEnd, chunk.ends[at]!))
  }

  /**
   * Row `i` (0: the oldest) no longer continues the row above: a row the one above wraps into
   * starts with a line break instead (its text is the same from either start). A row the row
   * above moved a wide character into (its head prints the character in the row above's last
   * column, from `moveTo`, which blanks that column in the character's pen and wraps: nothing
   * else makes such a blank) keeps that head, then erases from the row's start (ED 0 at the first
   * column also takes the row off the wrap; nothing is below it yet) and prints it there again.
   */
  unwrap(i: number, moveTo: string): void {
    const found = this.locate(i)
    if (!found) return
    const { chunk, at } = found
    if (chunk.kinds[at] === Entry.Wrap) {
      chunk.breakBefore(at)
      chunk.kinds[at] = Entry.Line
      return
    }
    if (chunk.kinds[at] !== Entry.Inside) return
    const start = chunk.start(at)
    const head = decoder.decode(chunk.bytes.subarray(start, start + chunk.heads[at]!))
    if (!head.startsWith(moveTo) || head.includes(UNWRAP)) return
    const again = head + UNWRAP + head.slice(moveTo.length)
    chunk.replace(at, Entry.Inside, encoder.encode(again), chunk.bytes.slice(start + chunk.heads[at]!, chunk.ends[at]!))
  }

  /**
   * Appends the rows' text to `parts`: the oldest row without its line break (nothing is above
   * it), and `insert` right after row `insertAfter` (-1: nowhere).
   */
  write(parts: string[], insertAfter: number, insert: string): void {
    const shared = this.sharing
    if (shared) {
      shared.at = parts.reduce((length, part) => length + part.length, 0)
      parts = []
    }
    const push = (...texts: (Uint8Array | string)[]) => {
      if (shared) shared.pieces.push(...texts)
      else for (const text of texts) parts.push(typeof text === 'string' ? text : decoder.decode(text))
    }
    let row = 0
    for (let c = 0; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!
      const from = c === 0 ? this.skip : 0
      if (from >= chunk.rows) continue
      let start = chunk.start(from)
      if (row === 0 && chunk.kinds[from] === Entry.Line) start += chunk.heads[from]!
      const end = chunk.used
      const rows = chunk.rows - from
      if (insertAfter >= row && insertAfter < row + rows) {
        const split = chunk.ends[from + insertAfter - row]!
        push(chunk.bytes.subarray(start, split), insert, chunk.bytes.subarray(split, end))
      } else push(chunk.bytes.subarray(start, end))
      row += rows
    }
  }

  /**
   * Runs `serialize` with every `write` in it leaving the rows out of the text and recording them
   * by reference: the returned rows, put back in the text at `at`, give the text a plain run
   * gives (withSharedRows). Null when `serialize` wrote no rows.
   */
  share(serialize: () => string): { data: string; rows: SharedRows | null } {
    const rows: SharedRows = { at: -1, pieces: [] }
    this.sharing = rows
    try {
      const data = serialize()
      return { data, rows: rows.at >= 0 ? rows : null }
    } finally {
      this.sharing = null
    }
  }

  /** The rows' text alone (a scratch terminal rebuilds their cells from it, see compact.ts). */
  text(): string {
    const parts: string[] = []
    this.write(parts, -1, '')
    return parts.join('')
  }
}
