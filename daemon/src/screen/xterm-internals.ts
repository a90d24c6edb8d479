/**
 * The few parts of xterm's core that the daemon's screens use beyond the public API: a
 * synchronous parse, and the state a fast-forward run starts from (fast-forward.ts).
 *
 * Why internals: the public `write()` queues and parses in 12 ms slices separated by
 * setTimeout, which is at least 1 ms in Node: on a screen nobody renders that is pure loss,
 * and state read after a write would not be the state after it. The shapes are checked once per
 * terminal; when they do not match (another xterm version), xtermInternals returns null and the
 * screen falls back to the public API without fast-forward. @xterm/headless is pinned, and
 * test/screen/fast-forward.test.ts fails if these internals go missing.
 */
import type { Terminal } from '@xterm/headless'
import type { RunStart } from './fast-forward.js'

export interface XtermInternals {
  /** Parses `data` now. */
  parse(data: Uint8Array): void
  /** Not inside an escape sequence nor a UTF-8 character: output from here on stands alone. */
  atRest(): boolean
  /** Bytes still to come of the UTF-8 character the last parse ended inside (0 when none). */
  utf8Remaining(): number
  /** The state a text run starts from, or null when the screen is in a state runs do not cover. */
  runStart(): RunStart | null
  /** Cursor moves down after which no line now in the buffer can still be in it. */
  evictingMoves(): number
  /** Line feeds that take the screen to a full buffer with the cursor on the last row, plus one. */
  movesToFill(): number
}

interface CoreShape {
  _inputHandler: {
    parse(data: Uint8Array): unknown
    _curAttrData: { extended: { urlId: number } }
    /** 0 is the ground state: not inside an escape sequence. */
    _parser: { currentState: number }
    /** The first bytes of a UTF-8 character whose rest has not arrived (0 when none). */
    _utf8Decoder: { interim: Uint8Array }
  }
  buffer: Buffer
  buffers: { normal: Buffer }
  coreService: { decPrivateModes: { wraparound: boolean } }
  optionsService: { rawOptions: { convertEol: boolean } }
  /** `charset` is the mapping of the active G set; unset (not even a key) until one is chosen. */
  _charsetService: { glevel: number; charset?: unknown }
}

interface Buffer {
  x: number
  y: number
  scrollTop: number
  scrollBottom: number
  lines: { length: number; maxLength: number }
}

/** Rows kept outside xterm's buffer (compact.ts): the buffer's true capacity and what it holds beyond xterm's. */
export interface Beyond {
  capacity(): number
  stored(): number
}

/**
 * The most bytes handed to xterm's parser at once. xterm decodes each parse's input into a buffer
 * it grows to the largest input it has seen, up to 512 KiB, and keeps for the terminal's life:
 * with output chunks of up to MAX_OUTPUT_BATCH_BYTES that was half a MiB per idle session
 * (docs/daemon.md, "Memory per session"). At this size the buffer stays as xterm made it
 * (4,096 code points); a chunk is parsed in slices, each ending on a character boundary, so that
 * no UTF-8 character is split between two parses (xterm would not join a zero-width character
 * split so to the cell before it, while a terminal fed the chunk whole would).
 */
export const PARSE_SLICE_BYTES = 4096

/** Where a slice of `data` from `start` ends: PARSE_SLICE_BYTES on, moved back to a character's first byte. */
export function sliceEnd(data: Uint8Array, start: number): number {
  let end = start + PARSE_SLICE_BYTES
  if (end >= data.length) return data.length
  // At most three continuation bytes (10xxxxxx) end a character that starts before `end`.
  for (let back = 0; back < 3 && (data[end]! & 0xc0) === 0x80; back++) end--
  return end
}

/** `parse` fed `data` in slices of at most PARSE_SLICE_BYTES (see there). */
function parseInSlices(parse: (data: Uint8Array) => unknown, data: Uint8Array): void {
  if (data.length <= PARSE_SLICE_BYTES) {
    parse(data)
    return
  }
  for (let start = 0; start < data.length; ) {
    const end = sliceEnd(data, start)
    parse(data.subarray(start, end))
    start = end
  }
}

export function xtermInternals(term: Terminal, beyond?: Beyond | null): XtermInternals | null {
  const core = (term as unknown as { _core?: Partial<CoreShape> })._core
  if (!hasShape(core)) return null
  const input = core._inputHandler
  return {
    parse: (data) => parseInSlices((slice) => input.parse(slice), data),
    atRest: () => input._parser.currentState === 0 && input._utf8Decoder.interim[0] === 0,
    utf8Remaining() {
      const interim = input._utf8Decoder.interim
      const lead = interim[0]!
      if (lead === 0) return 0
      const length = (lead & 0xe0) === 0xc0 ? 2 : (lead & 0xf0) === 0xe0 ? 3 : 4
      let held = 1
      while (held < interim.length && interim[held] !== 0) held++
      return Math.max(1, length - held)
    },
    runStart() {
      const buffer = core.buffer
      // A run scans from a clean state: not inside an escape sequence or a UTF-8 character
      // (a chunk can end inside either), on a screen whose scrolling the run can count.
      const eligible =
        input._parser.currentState === 0 &&
        input._utf8Decoder.interim[0] === 0 &&
        buffer === core.buffers.normal &&
        buffer.scrollTop === 0 &&
        buffer.scrollBottom === term.rows - 1 &&
        core.coreService.decPrivateModes.wraparound &&
        !core._charsetService.charset &&
        input._curAttrData.extended.urlId === 0 &&
        term.unicode.activeVersion === '6' &&
        buffer.x >= 0 &&
        buffer.x <= term.cols
      return eligible ? { x: buffer.x, cols: term.cols, convertEol: core.optionsService.rawOptions.convertEol } : null
    },
    evictingMoves: () => (beyond ? beyond.capacity() : core.buffer.lines.maxLength) + term.rows,
    movesToFill() {
      const buffer = core.buffer
      const held = buffer.lines.length + (beyond ? beyond.stored() : 0)
      return term.rows - 1 - buffer.y + ((beyond ? beyond.capacity() : buffer.lines.maxLength) - held) + 1
    },
  }
}

function hasShape(core: Partial<CoreShape> | undefined): core is CoreShape {
  const buffer = core?.buffer
  return (
    typeof core?._inputHandler?.parse === 'function' &&
    typeof core._inputHandler._curAttrData?.extended?.urlId === 'number' &&
    typeof core._inputHandler._parser?.currentState === 'number' &&
    core._inputHandler._utf8Decoder?.interim instanceof Uint8Array &&
    typeof buffer?.x === 'number' &&
    typeof buffer.y === 'number' &&
    typeof buffer.scrollTop === 'number' &&
    typeof buffer.scrollBottom === 'number' &&
    typeof buffer.lines?.maxLength === 'number' &&
    core.buffers?.normal === buffer &&
    typeof core.coreService?.decPrivateModes?.wraparound === 'boolean' &&
    typeof core.optionsService?.rawOptions?.convertEol === 'boolean' &&
    typeof core._charsetService?.glevel === 'number'
  )
}
