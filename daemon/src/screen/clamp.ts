/**
 * Clamps the counts in control sequences to what the screen can show, before the bytes reach any
 * parser (the daemon's headless screen and, through the same stream, every viewer's terminal).
 *
 * Why: xterm carries out `CSI n S` (scroll up), `T`, `L`, `M`, `b` (repeat), `Z` and `I` (tab
 * back/forward) one step at a time, n times, however large n is (up to 2³¹−1): one such
 * sequence from `cat` of a hostile file kept a screen busy for seconds to hours, and `CSI n b`
 * allocates n cells at once. Past the screen's size, more steps change nothing on the screen
 * (scrolling more lines than the region has blanks the region; a tab past the last column stops
 * there), so a count is cut to the size of what it moves: rows for S T L M, columns for the
 * horizontal ones, the whole screen (cols × rows) for repeat. Only repeat can differ from the
 * unclamped result, and only in the scrollback, which shows fewer copies of the repeated
 * character. See docs/daemon.md ("Hostile output").
 *
 * The filter is a small state machine that follows xterm's own parser (VT500 transitions) just
 * far enough to know when bytes are the parameters of a CSI: C0 controls inside a sequence are
 * passed on at once (xterm executes them there too), the sequence itself is held until its final
 * byte (it may be split across reads) and then passed on unchanged, or rebuilt with clamped
 * counts. Output between sequences is passed through without copying.
 *
 * Titles (OSC 0, 1 and 2) are cut the same way, to their first MAX_TITLE_CHARS characters: the
 * daemon keeps no more of a title than that (limits.ts), but xterm gathers the whole payload
 * first, and a program printing megabyte titles in a loop cost its screen's worker a core and the
 * garbage collector as much again, at the price of plain text per byte, so the parse cap
 * (parse-scheduler.ts) never held it back. The rest of the payload is dropped; the terminator and
 * every byte that ends the string in xterm (BEL, ESC, CAN, SUB, any C1 control) pass, so the
 * parser ends the string as it would have.
 */
import { MAX_CONTROL_SEQUENCE_BYTES, MAX_TITLE_CHARS } from '@tabula/protocol'

const ESC = 0x1b
/** The UTF-8 encoding of U+009B, the one-character CSI (C1), which xterm honours from any state. */
const C1_LEAD = 0xc2
const C1_CSI = 0x9b
const CAN = 0x18
const SUB = 0x1a
const DEL = 0x7f
const LEFT_BRACKET = 0x5b
const RIGHT_BRACKET = 0x5d
const BEL = 0x07
const SEMICOLON = 0x3b
/** The second byte of U+009D, the one-character OSC (C1). */
const C1_OSC = 0x9d
/** The second bytes of the UTF-8 encodings of the C1 controls U+0080–U+009F. */
const C1_FIRST = 0x80
const C1_LAST = 0x9f
/** xterm keeps parameter values below this (Params.ts). */
const PARAM_MAX = 0x7fffffff

// biome-ignore lint/suspicious/noConstEnum: inlined by tsc into the per-byte loop; nothing imports it
const enum State {
  Ground,
  Escape,
  EscapeIntermediate,
  /** After a lone C2 byte: the next decides whether it was a C1 CSI. */
  C1Lead,
  Csi,
  /** After `ESC ]` (or C1 OSC): the command number, up to its `;`. */
  OscIdent,
  /** In the payload of a title (OSC 0, 1, 2): its characters counted up to MAX_TITLE_CHARS. */
  OscTitle,
  /** A C2 byte passed in a title: the next decides whether it is a C1 control (which ends the string). */
  OscTitleLead,
  /** The rest of a title past MAX_TITLE_CHARS: dropped up to what ends the string. */
  OscDrop,
}

/** Which count bounds a sequence: by its final byte, for sequences without prefix and intermediates. */
// biome-ignore lint/suspicious/noConstEnum: inlined by tsc into the per-byte loop; nothing imports it
const enum Bound {
  None,
  Rows,
  Cols,
  Screen,
}

const PLAIN_BOUND = new Map<number, Bound>([
  [0x53, Bound.Rows], // S  SU scroll up
  [0x54, Bound.Rows], // T  SD scroll down
  [0x4c, Bound.Rows], // L  IL insert lines
  [0x4d, Bound.Rows], // M  DL delete lines
  [0x40, Bound.Cols], // @  ICH insert characters
  [0x50, Bound.Cols], // P  DCH delete characters
  [0x58, Bound.Cols], // X  ECH erase characters
  [0x5a, Bound.Cols], // Z  CBT tab backward
  [0x49, Bound.Cols], // I  CHT tab forward
  [0x62, Bound.Screen], // b  REP repeat the preceding character
])
/** With one intermediate: SL/SR (space @, space A), DECIC/DECDC (' } and ' ~). */
const INTERMEDIATE_BOUND = new Map<number, Bound>([
  [(0x20 << 8) | 0x40, Bound.Cols],
  [(0x20 << 8) | 0x41, Bound.Cols],
  [(0x27 << 8) | 0x7d, Bound.Cols],
  [(0x27 << 8) | 0x7e, Bound.Cols],
])

export class CsiClamp {
  private state = State.Ground
  /** The sequence being held: introducer, parameters, intermediates (never C0 or DEL). */
  private held = new Uint8Array(MAX_CONTROL_SEQUENCE_BYTES)
  private heldLength = 0
  /** Set when a sequence outgrew `held`: it is dropped whole (xterm ignores such a run of parameters anyway). */
  private overflow = false
  /** Parameter bytes seen after an intermediate, or a prefix after parameters: xterm ignores the sequence. */
  private ignored = false
  /** Where the ESC that opened the current escape is in the chunk being filtered (-1: an earlier chunk). */
  private escAt = -1
  private prefix = 0
  private intermediates = 0
  private intermediateCount = 0
  private sawParams = false
  /** The OSC command number being read (-1: no digit yet). */
  private oscIdent = -1
  /** Characters of the current title passed on so far. */
  private titleChars = 0
  /** A C2 byte of a title past its bound, at the end of a read: held until the next byte says whether it starts a C1 control. */
  private heldLead = false

  constructor(
    private cols: number,
    private rows: number,
  ) {}

  resize(cols: number, rows: number): void {
    this.cols = cols
    this.rows = rows
  }

  /**
   * The bytes to pass on for `data`, in order. Returns `data` itself when nothing in it needed
   * holding or changing (the common case), otherwise a new array.
   */
  filter(data: Uint8Array): Uint8Array {
    if (this.state === State.Ground && this.heldLength === 0 && quiet(data)) return data
    // Output is never longer than what was held plus the input (a rebuilt count has no more digits).
    // Made on first use: a chunk whose sequences all pass unchanged is returned as it came.
    let made = null as Uint8Array | null
    const out = () => (made ??= new Uint8Array(this.heldLength + data.length + 1))
    let length = 0
    let from = 0 // start of the stretch of `data` not yet copied
    this.escAt = -1
    let c1At = -1 // the next C2 byte at or after the current position, once looked for
    const copy = (to: number) => {
      if (to > from) length = copyInto(out(), length, data, from, to)
    }
    for (let i = 0; i < data.length; i++) {
      const byte = data[i]!
      switch (this.state) {
        case State.Ground:
          if (byte === ESC) this.escape(i)
          else if (byte === C1_LEAD) this.state = State.C1Lead
          else {
            // Text: on to the next byte that can start a sequence (found natively).
            if (c1At < i) c1At = indexOrEnd(data, C1_LEAD, i)
            i = Math.min(indexOrEnd(data, ESC, i), c1At) - 1
          }
          continue
        case State.Escape:
          if (byte === LEFT_BRACKET) {
            // The usual case: the whole sequence is here and passes unchanged, so it stays in the
            // stretch not yet copied, as if it were text.
            if (this.escAt === i - 1) {
              const final = this.unchangedCsiEnd(data, i + 1)
              if (final >= 0) {
                this.state = State.Ground
                i = final
                continue
              }
            }
            // The ESC came in this chunk (held with the bracket; the C0 controls after it are
            // passed on first, xterm executes them before the sequence anyway) or in an earlier
            // one, already passed on.
            const escAt = this.escAt
            if (escAt >= from) {
              copy(escAt)
              for (let k = escAt + 1; k < i; k++) out()[length++] = data[k]!
            } else copy(i)
            this.begin(escAt >= from ? ESC : -1, LEFT_BRACKET)
            from = i + 1
          } else if (byte === ESC) this.escape(i)
          else if (byte === C1_LEAD) this.state = State.C1Lead
          else if (byte >= 0x20 && byte <= 0x2f) this.state = State.EscapeIntermediate
          else if (byte === RIGHT_BRACKET) this.osc()
          else if (byte === CAN || byte === SUB || byte >= 0x30) this.state = State.Ground
          continue // C0 controls and DEL keep the escape open, as in xterm
        case State.EscapeIntermediate:
          if (byte === ESC) this.escape(i)
          else if (byte === C1_LEAD) this.state = State.C1Lead
          else if (byte === CAN || byte === SUB || byte >= 0x30) this.state = State.Ground
          continue
        case State.C1Lead:
          if (byte === C1_CSI) {
            copy(Math.max(i - 1, from))
            this.begin(i - 1 >= from ? C1_LEAD : -1, C1_CSI)
            from = i + 1
          } else if (byte === C1_OSC) this.osc()
          else if (byte === ESC) this.escape(i)
          else if (byte === C1_LEAD) this.state = State.C1Lead
          else this.state = State.Ground
          continue
        case State.OscIdent:
          if (byte >= 0x30 && byte <= 0x39) this.oscIdent = Math.min(this.oscIdent < 0 ? byte - 0x30 : this.oscIdent * 10 + byte - 0x30, 10)
          else {
            // A title's payload is counted from here. Any other OSC passes as text: only the
            // bytes that end the string in xterm (ESC, C2) mean anything to this filter there.
            const title = byte === SEMICOLON && this.oscIdent >= 0 && this.oscIdent <= 2
            this.state = title ? State.OscTitle : State.Ground
            this.titleChars = 0
            if (!title) i--
          }
          continue
        case State.OscTitle:
          if (byte === ESC) this.escape(i)
          else if (byte === BEL || byte === CAN || byte === SUB) this.state = State.Ground
          else if (byte >= 0x20 && (byte < 0x80 || byte >= 0xc0)) {
            // A character starts (ASCII or a UTF-8 lead byte): the first past the bound starts the drop.
            if (this.titleChars >= MAX_TITLE_CHARS) {
              copy(i)
              from = i
              this.state = State.OscDrop
              i--
            } else {
              this.titleChars++
              if (byte === C1_LEAD) this.state = State.OscTitleLead
            }
          }
          continue // continuation bytes and C0 controls (ignored inside the string by xterm) pass
        case State.OscTitleLead:
          // After a C2 that passed: a C1 control ends the string, anything else is the title's.
          this.state = byte >= C1_FIRST && byte <= C1_LAST ? State.C1Lead : State.OscTitle
          i--
          continue
        case State.OscDrop: {
          // Everything up to the next byte that can end the string is dropped; a held C2 (the
          // end of the previous read) goes out only if it turns out to start a C1 control.
          const held = this.heldLead
          this.heldLead = false
          if (held && isLatin1Second(byte)) {
            from = i + 1 // the second byte of a dropped character
            continue
          }
          if (held) out()[length++] = C1_LEAD
          if (byte === ESC) {
            from = i
            this.escape(i)
          } else if (byte === BEL || byte === CAN || byte === SUB) {
            from = i
            this.state = State.Ground
          } else if (byte === C1_LEAD && i + 1 === data.length) {
            from = i + 1
            this.heldLead = true
          } else if (byte === C1_LEAD && data[i + 1]! >= C1_FIRST && data[i + 1]! <= C1_LAST) {
            from = i
            this.state = State.C1Lead
          } else if (held && byte >= C1_FIRST && byte <= C1_LAST) {
            from = i // the held C2 and this byte are a C1 control: looked at as anywhere else
            this.state = State.C1Lead
            i--
          } else {
            // A C2 here starts a character (U+00A0–U+00BF, dropped whole) or is invalid (dropped alone).
            const next = dropEnd(data, byte === C1_LEAD && isLatin1Second(data[i + 1]!) ? i + 2 : i + 1)
            from = next
            i = next - 1
          }
          continue
        }
        case State.Csi: {
          if (byte < 0x20 && byte !== ESC && byte !== CAN && byte !== SUB) {
            out()[length++] = byte // executed in place, before the sequence completes
            from = i + 1
          } else if (byte === DEL) {
            from = i + 1 // ignored inside a sequence
          } else if (byte >= 0x20 && byte <= 0x3f) {
            this.param(byte)
            from = i + 1
          } else if (byte >= 0x40 && byte <= 0x7e) {
            length = this.finish(byte, out(), length)
            from = i + 1
          } else {
            // ESC, CAN, SUB or any byte ≥ 0x80 ends the sequence undispatched in xterm: pass on
            // what was held so the parser ends in the same state, then look at the byte afresh.
            length = this.abort(out(), length)
            from = i
            i--
          }
          continue
        }
      }
    }
    if (this.state !== State.Csi) {
      if (made === null && from === 0) return data // every byte passes, unchanged and in order
      copy(data.length)
    }
    return made === null ? EMPTY : made.subarray(0, length)
  }

  /**
   * Where the final byte is, when `data` from `start` on (just after `ESC [`) holds the rest of a
   * CSI with parameters only (no intermediates, no controls inside) that fits in `held` and that
   * `finish` would pass on unchanged; -1 otherwise (then the sequence takes the general path).
   */
  private unchangedCsiEnd(data: Uint8Array, start: number): number {
    // `held` keeps the introducer's 2 bytes and the parameters; a longer sequence is dropped whole.
    const last = Math.min(data.length - 1, start + this.held.length - 2)
    let marked = false // a prefix (< = > ?), or such a byte after parameters: never clamped
    let at = start
    for (; at <= last; at++) {
      const byte = data[at]!
      if (byte < 0x30 || byte > 0x3f) break
      if (byte >= 0x3c) marked = true
    }
    if (at > last) return -1
    const final = data[at]!
    if (final < 0x40 || final > 0x7e) return -1
    if (marked) return at
    const bound = PLAIN_BOUND.get(final) ?? Bound.None
    if (bound === Bound.None) return at
    return exceedsIn(data, start, at, this.limitOf(bound)) ? -1 : at
  }

  private osc(): void {
    this.state = State.OscIdent
    this.oscIdent = -1
  }

  private escape(at: number): void {
    this.state = State.Escape
    this.escAt = at
  }

  /** A CSI starts: `lead` (ESC or C2, or -1 when it was passed on with an earlier chunk), then `second`. */
  private begin(lead: number, second: number): void {
    this.state = State.Csi
    this.heldLength = 0
    this.overflow = false
    this.ignored = false
    this.prefix = 0
    this.intermediates = 0
    this.intermediateCount = 0
    this.sawParams = false
    if (lead >= 0) this.hold(lead)
    this.hold(second)
  }

  private hold(byte: number): void {
    if (this.heldLength >= this.held.length) this.overflow = true
    else this.held[this.heldLength++] = byte
  }

  /** A parameter, prefix or intermediate byte (0x20–0x3f). */
  private param(byte: number): void {
    if (byte <= 0x2f) {
      this.intermediates = (this.intermediates << 8) | byte
      this.intermediateCount++
    } else if (this.intermediateCount > 0) this.ignored = true
    else if (byte >= 0x3c) {
      if (this.sawParams || this.prefix !== 0) this.ignored = true
      else this.prefix = byte
    } else this.sawParams = true
    this.hold(byte)
  }

  private finish(final: number, out: Uint8Array, length: number): number {
    this.state = State.Ground
    if (this.overflow) return length // dropped whole, see MAX_CONTROL_SEQUENCE_BYTES
    const bound = this.ignored || this.prefix !== 0 ? Bound.None : this.boundOf(final)
    const limit = this.limitOf(bound)
    if (bound !== Bound.None && exceedsIn(this.held, this.introLength(), this.heldLength, limit))
      return this.rebuild(final, limit, out, length)
    length = copyInto(out, length, this.held, 0, this.heldLength)
    out[length++] = final
    this.heldLength = 0
    return length
  }

  private abort(out: Uint8Array, length: number): number {
    this.state = State.Ground
    if (!this.overflow) length = copyInto(out, length, this.held, 0, this.heldLength)
    this.heldLength = 0
    return length
  }

  private boundOf(final: number): Bound {
    if (this.intermediateCount === 0) return PLAIN_BOUND.get(final) ?? Bound.None
    if (this.intermediateCount === 1) return INTERMEDIATE_BOUND.get((this.intermediates << 8) | final) ?? Bound.None
    return Bound.None
  }

  private limitOf(bound: Bound): number {
    return bound === Bound.Rows ? this.rows : bound === Bound.Cols ? this.cols : this.cols * this.rows
  }

  /** The held sequence with every parameter above `limit` replaced by `limit`. */
  private rebuild(final: number, limit: number, out: Uint8Array, length: number): number {
    const intro = this.introLength()
    out.set(this.held.subarray(0, intro), length)
    length += intro
    const digits = String(limit)
    let value = -1 // -1: not inside a number
    let start = length
    const end = () => {
      if (value > limit) {
        for (let k = 0; k < digits.length; k++) out[start + k] = digits.charCodeAt(k)
        length = start + digits.length
      }
      value = -1
    }
    for (let i = intro; i < this.heldLength; i++) {
      const byte = this.held[i]!
      if (byte >= 0x30 && byte <= 0x39) {
        if (value < 0) {
          value = 0
          start = length
        }
        value = Math.min(value * 10 + (byte - 0x30), PARAM_MAX)
      } else end()
      out[length++] = byte
    }
    end()
    out[length++] = final
    this.heldLength = 0
    return length
  }

  /** Bytes of the introducer at the start of `held` (ESC [ or C2 9B, or its second byte alone). */
  private introLength(): number {
    const first = this.held[0]
    return first === ESC || first === C1_LEAD ? 2 : 1
  }
}

const EMPTY = new Uint8Array(0)

/** True for the second byte of a UTF-8 character U+00A0–U+00BF (after C2; below it are the C1 controls). */
function isLatin1Second(byte: number): boolean {
  return byte >= 0xa0 && byte <= 0xbf
}

/** Where a dropped title's payload may end: the first ESC, BEL, CAN, SUB or C2 at or after `from` (scanned natively). */
function dropEnd(data: Uint8Array, from: number): number {
  let end = data.length
  for (const byte of STRING_ENDS) {
    const at = data.indexOf(byte, from)
    if (at >= 0 && at < end) end = at
  }
  return end
}
const STRING_ENDS = [ESC, BEL, CAN, SUB, C1_LEAD]

function indexOrEnd(data: Uint8Array, byte: number, from: number): number {
  const at = data.indexOf(byte, from)
  return at < 0 ? data.length : at
}

/** True when any parameter value in `params[start, end)` is above `limit`. */
function exceedsIn(params: Uint8Array, start: number, end: number, limit: number): boolean {
  let value = 0
  for (let i = start; i < end; i++) {
    const byte = params[i]!
    if (byte >= 0x30 && byte <= 0x39) {
      value = Math.min(value * 10 + (byte - 0x30), PARAM_MAX)
      if (value > limit) return true
    } else value = 0
  }
  return false
}

/**
 * Copies `from[start, end)` into `to` at `at`; returns the new end. A coloured log has a few
 * sequences and short stretches of text per line: copying those byte by byte spares a typed-array
 * view per piece (`subarray`), which cost more than the copy (a profile of such a flood had this
 * filter at a third of the daemon's main thread); long stretches go through the native `set`.
 */
function copyInto(to: Uint8Array, at: number, from: Uint8Array, start: number, end: number): number {
  if (end - start > SHORT_COPY_BYTES) {
    to.set(from.subarray(start, end), at)
    return at + end - start
  }
  for (let i = start; i < end; i++) to[at++] = from[i]!
  return at
}

/** Below this many bytes a loop copies faster than `set(subarray(…))` (which allocates a view). */
const SHORT_COPY_BYTES = 64

/** True when `data` holds no byte that can start an escape (scanned natively). */
function quiet(data: Uint8Array): boolean {
  return data.indexOf(ESC) === -1 && data.indexOf(C1_LEAD) === -1
}
