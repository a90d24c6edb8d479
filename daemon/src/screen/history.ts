/**
 * The compact scrollback of a screen: rows that scrolled out of xterm's (small) buffer, kept as
 * the text that writes them (serialize.ts, `compactRow`), in the order they left, instead of
 * 12 bytes a cell. A snapshot writes these rows as they are, so an attach costs the same
 * however long the history is (docs/daemon.md, "Snapshots").
 *
 * Each row is stored as its `head` (what enters the row from the end of the row above: a line
 * break, nothing when the row above wraps into it, or the wide character the row above moved into
 * it) followed by its body. Rows are kept in sealed chunks of CHUNK_ROWS rows, each one flat
 * string, so a snapshot joins a few dozen strings rather than one per row.
 */

/** How a row is entered from the row above. */
export const enum Entry {
  /** A line break: the row starts a logical line. */
  Line = 0,
  /** The row above ends in the pending wrap; the row's first print wraps into it. */
  Wrap = 1,
  /** The row above moved a wide character into this row (the head prints it). */
  Inside = 2,
}

/** Rows per sealed chunk. */
const CHUNK_ROWS = 256

interface Chunk {
  text: string
  /** End of each row's text in `text`. */
  ends: Int32Array
  heads: Int32Array
  kinds: Uint8Array
}

export class CompactHistory {
  private chunks: Chunk[] = []
  /** Rows of the first chunk already dropped. */
  private skip = 0
  private texts: string[] = []
  private heads: number[] = []
  private kinds: number[] = []
  private total = 0
  /** Rows dropped so far: the oldest row's number, counting every row ever stored. */
  private dropped = 0

  get count(): number {
    return this.total
  }

  /** The number of the oldest stored row (rows are numbered as they are stored, from 0). */
  get first(): number {
    return this.dropped
  }

  push(kind: Entry, head: string, body: string): void {
    this.texts.push(head + body)
    this.heads.push(head.length)
    this.kinds.push(kind)
    this.total++
    if (this.texts.length === CHUNK_ROWS) this.seal()
  }

  /** Drops the oldest `n` rows. */
  dropFirst(n: number): void {
    n = Math.min(n, this.total)
    this.total -= n
    this.dropped += n
    while (n > 0 && this.chunks.length > 0) {
      const chunk = this.chunks[0]!
      const left = chunk.ends.length - this.skip
      if (n < left) {
        this.skip += n
        return
      }
      n -= left
      this.chunks.shift()
      this.skip = 0
    }
    if (n > 0) {
      this.texts.splice(0, n)
      this.heads.splice(0, n)
      this.kinds.splice(0, n)
    }
  }

  clear(): void {
    this.dropped += this.total
    this.chunks = []
    this.skip = 0
    this.texts = []
    this.heads = []
    this.kinds = []
    this.total = 0
  }

  /**
   * Row `i` (0: the oldest) no longer continues the row above: a row the one above wraps into
   * starts with a line break instead (its text is the same from either start). A row that holds a
   * wide character the row above moved into it keeps its start.
   */
  unwrap(i: number): void {
    if (i < 0 || i >= this.total) return
    this.seal()
    let at = i + this.skip
    for (const chunk of this.chunks) {
      if (at >= chunk.ends.length) {
        at -= chunk.ends.length
        continue
      }
      if (chunk.kinds[at] !== Entry.Wrap) return
      const start = at === 0 ? 0 : chunk.ends[at - 1]!
      chunk.text = chunk.text.slice(0, start) + '\r\n' + chunk.text.slice(start)
      for (let k = at; k < chunk.ends.length; k++) chunk.ends[k]! += 2
      chunk.heads[at] = 2
      chunk.kinds[at] = Entry.Line
      return
    }
  }

  /** How the oldest row is entered (what a snapshot must put above it when it continues a line). */
  get firstKind(): Entry {
    const chunk = this.chunks[0]
    return (chunk ? chunk.kinds[this.skip]! : this.kinds[0]!) as Entry
  }

  /**
   * Appends the rows' text to `parts`: the oldest row without its line break (nothing is above
   * it), and `insert` right after row `insertAfter` (-1: nowhere).
   */
  write(parts: string[], insertAfter: number, insert: string): void {
    let row = 0
    const emit = (text: string, ends: ArrayLike<number>, heads: ArrayLike<number>, kinds: ArrayLike<number>, from: number) => {
      const to = ends.length
      let start = from === 0 ? 0 : ends[from - 1]!
      if (row === 0 && from < to && kinds[from] === Entry.Line) start += heads[from]!
      if (insertAfter >= row && insertAfter < row + to - from) {
        const split = ends[from + insertAfter - row]!
        parts.push(text.slice(start, split), insert, text.slice(split, ends[to - 1]))
      } else parts.push(start === 0 && to > 0 && ends[to - 1] === text.length ? text : text.slice(start, ends[to - 1]))
      row += to - from
    }
    this.seal()
    for (let i = 0; i < this.chunks.length; i++) {
      const chunk = this.chunks[i]!
      emit(chunk.text, chunk.ends, chunk.heads, chunk.kinds, i === 0 ? this.skip : 0)
    }
  }

  /** The rows' text alone (a scratch terminal rebuilds their cells from it, see compact.ts). */
  text(): string {
    const parts: string[] = []
    this.write(parts, -1, '')
    return parts.join('')
  }

  private seal(): void {
    const n = this.texts.length
    if (n === 0) return
    const ends = new Int32Array(n)
    let at = 0
    for (let i = 0; i < n; i++) ends[i] = at += this.texts[i]!.length
    const chunk: Chunk = { text: this.texts.join(''), ends, heads: Int32Array.from(this.heads), kinds: Uint8Array.from(this.kinds) }
    // A partly filled chunk sealed for a snapshot is filled up to CHUNK_ROWS later: merge them.
    const lastChunk = this.chunks[this.chunks.length - 1]
    if (lastChunk && lastChunk.ends.length < CHUNK_ROWS) {
      const base = lastChunk.text.length
      const merged: Chunk = {
        text: lastChunk.text + chunk.text,
        ends: new Int32Array(lastChunk.ends.length + n),
        heads: new Int32Array(lastChunk.ends.length + n),
        kinds: new Uint8Array(lastChunk.ends.length + n),
      }
      merged.ends.set(lastChunk.ends)
      for (let i = 0; i < n; i++) merged.ends[lastChunk.ends.length + i] = base + ends[i]!
      merged.heads.set(lastChunk.heads)
      merged.heads.set(chunk.heads, lastChunk.ends.length)
      merged.kinds.set(lastChunk.kinds)
      merged.kinds.set(chunk.kinds, lastChunk.ends.length)
      this.chunks[this.chunks.length - 1] = merged
    } else this.chunks.push(chunk)
    this.texts = []
    this.heads = []
    this.kinds = []
  }
}
