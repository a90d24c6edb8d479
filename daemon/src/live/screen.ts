/**
 * The headless terminal itself (xterm + serializer), with nothing about threads or PTYs. It runs
 * inside the mirror worker (screen-worker.ts), or in-process when no worker is available.
 */
import xtermHeadless from '@xterm/headless'
import serializeAddon from '@xterm/addon-serialize'

const { Terminal } = xtermHeadless
const { SerializeAddon } = serializeAddon

export interface Snapshot {
  cols: number
  rows: number
  /** The serialized screen and scrollback (VT sequences); write it after a full reset. */
  data: string
}

export interface ScreenOptions {
  cols: number
  rows: number
  scrollback: number
}

export class HeadlessScreen {
  private readonly term: InstanceType<typeof Terminal>
  private readonly serializer = new SerializeAddon()
  private disposed = false

  constructor(opts: ScreenOptions, onTitle: (title: string) => void) {
    this.term = new Terminal({ cols: opts.cols, rows: opts.rows, scrollback: opts.scrollback, allowProposedApi: true })
    this.term.loadAddon(this.serializer)
    this.term.onTitleChange(onTitle)
  }

  /**
   * `parsed` runs once this chunk has been parsed, before the next one is. Bytes are UTF-8; a
   * character split across two writes is joined by xterm's decoder.
   */
  write(data: Uint8Array, parsed: () => void): void {
    if (!this.disposed) this.term.write(data, parsed)
  }

  /**
   * A snapshot exactly between the chunks written before and after this call: xterm parses
   * writes in order and runs a write's callback after its chunk and before the next, so a
   * zero-length write's callback sees all of the first and none of the second.
   */
  cut(ready: (snapshot: Snapshot) => void): void {
    if (this.disposed) return
    this.term.write('', () => {
      if (!this.disposed) ready({ cols: this.term.cols, rows: this.term.rows, data: this.serializer.serialize() })
    })
  }

  /** Resizes at this point of the stream, so output written for the old size is laid out at it. */
  resize(cols: number, rows: number): void {
    if (this.disposed) return
    this.term.write('', () => {
      if (!this.disposed && (this.term.cols !== cols || this.term.rows !== rows)) this.term.resize(cols, rows)
    })
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.term.dispose()
  }
}
