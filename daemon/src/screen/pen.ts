/**
 * The pen: the SGR and hyperlink a run of cells needs, written from xterm's cell attributes
 * (docs/daemon.md, "Snapshots": one absolute SGR per change of attributes).
 */
import {
  CELL_SIZE,
  CM_MASK,
  CM_DEFAULT,
  CM_P16,
  CM_RGB,
  COLOR_MASK,
  FG_INVERSE,
  FG_BOLD,
  FG_UNDERLINE,
  FG_BLINK,
  FG_INVISIBLE,
  FG_STRIKETHROUGH,
  BG_ITALIC,
  BG_DIM,
  BG_HAS_EXTENDED,
  BG_PROTECTED,
  BG_OVERLINE,
  EXT_UNDERLINE_STYLE,
  EXT_UNDERLINE_COLOR,
  UNDERLINE_SINGLE,
  type Line,
  type Core,
} from './xterm-buffer.js'

function colorParams(value: number, base: number, bright: number, extended: number, out: string[]): void {
  const mode = value & CM_MASK
  const color = value & COLOR_MASK
  if (mode === CM_RGB) {
    out.push(`${extended};2;${(color >> 16) & 0xff};${(color >> 8) & 0xff};${color & 0xff}`)
    return
  }
  if (mode === CM_DEFAULT) return
  // xterm's palette colours replace only the index byte and keep the bits above it from an
  // earlier RGB colour; an RGB colour first puts them back.
  if (color & 0xffff00) out.push(`${extended};2;${(color >> 16) & 0xff};${(color >> 8) & 0xff};0`)
  const index = color & 0xff
  if (mode === CM_P16 && base) out.push(String(index < 8 ? base + index : bright + index - 8))
  else out.push(`${extended};5;${index}`)
}

/**
 * An absolute SGR (from a reset) for fg, bg and the extended bits (underline style and colour);
 * `fromDefault`: the pen is the default one already, so the reset is left out (fewer bytes for
 * the viewer to parse: most cells of a log follow a reset).
 */
function sgr(fg: number, bg: number, ext: number, fromDefault = false): string {
  const p: string[] = fromDefault ? [] : ['0']
  if (fg & FG_BOLD) p.push('1')
  if (bg & BG_DIM) p.push('2')
  if (bg & BG_ITALIC) p.push('3')
  if (fg & FG_UNDERLINE) {
    // The flag with style 0 (only DECRC makes it) draws no underline: written as none.
    const style = (ext & EXT_UNDERLINE_STYLE) >>> 26
    if (style) p.push(style === UNDERLINE_SINGLE ? '4' : `4:${style}`)
  }
  if (fg & FG_BLINK) p.push('5')
  if (fg & FG_INVERSE) p.push('7')
  if (fg & FG_INVISIBLE) p.push('8')
  if (fg & FG_STRIKETHROUGH) p.push('9')
  if (bg & BG_OVERLINE) p.push('53')
  colorParams(fg, 30, 90, 38, p)
  colorParams(bg, 40, 100, 48, p)
  const ul = ext & EXT_UNDERLINE_COLOR
  if (ul !== 0) {
    colorParams(ul, 0, 0, 58, p)
  }
  // SGR 0 clears protection too (xterm keeps it in bg); DECSCA puts it back.
  if (p.length === 0) p.push('0')
  return `\x1b[${p.join(';')}m` + (bg & BG_PROTECTED ? '\x1b[1"q' : '')
}

/** The hyperlink a cell or the pen carries, as the OSC 8 that opens it ('' for none). */
export function linkOf(core: Core, urlId: number): string {
  if (!urlId) return ''
  const data = core._oscLinkService.getLinkData(urlId)
  if (!data) return ''
  return `\x1b]8;${data.id !== undefined ? `id=${data.id}` : ''};${data.uri}\x1b\\`
}

export const CLOSE_LINK = '\x1b]8;;\x1b\\'

/** What a run of output needs to set before a cell: its SGR and hyperlink. */
export class Pen {
  fg = 0
  bg = 0
  ext = 0
  link = ''
  private readonly cache = new Map<string, string>()

  constructor(readonly core: Core) {}

  /** Sequences that make the pen (fg, bg, ext, link); '' when it already is. */
  set(fg: number, bg: number, ext: number, link: string): string {
    let out = ''
    bg &= ~BG_HAS_EXTENDED
    if (fg !== this.fg || bg !== this.bg || ext !== this.ext) {
      const fromDefault = this.fg === 0 && this.bg === 0 && this.ext === 0
      const key = `${fg},${bg},${ext},${fromDefault ? 1 : 0}`
      let seq = this.cache.get(key)
      if (seq === undefined) this.cache.set(key, (seq = sgr(fg, bg, ext, fromDefault)))
      out += seq
      this.fg = fg
      this.bg = bg
      this.ext = ext
    }
    if (link !== this.link) {
      out += link || CLOSE_LINK
      this.link = link
    }
    return out
  }

  /** The pen of cell `c` of `line`. */
  cell(line: Line, c: number): string {
    const at = c * CELL_SIZE
    const fg = line._data[at + 1]!
    const bg = line._data[at + 2]!
    const ext = bg & BG_HAS_EXTENDED ? line._extendedAttrs[c] : undefined
    // Without extended attributes an underlined cell is a single underline.
    const bits = ext ? ext._ext : fg & FG_UNDERLINE ? UNDERLINE_SINGLE << 26 : 0
    return this.set(fg, bg, bits, ext ? linkOf(this.core, ext.urlId) : '')
  }

  reset(): string {
    return this.set(0, 0, 0, '')
  }
}

/** What `write` writes from an unknown pen (so it can be written anywhere), the pen left as it was. */
export function detached<T>(pen: Pen, write: () => T): T {
  const { fg, bg, ext, link } = pen
  forget(pen)
  const written = write()
  Object.assign(pen, { fg, bg, ext, link })
  return written
}

/** The pen after a cached row is not tracked: the next cell sets it in full. */
export function forget(pen: Pen): void {
  pen.fg = -1
  pen.bg = -1
  pen.ext = -1
  pen.link = '\x00'
}
