/**
 * xterm's buffer as the daemon reads it (the serializer, the compact history): the cell layout
 * of @xterm/xterm 6 (a Uint32Array of [content, fg, bg] per cell) and the shape of the internals
 * read, checked once by `coreOf` (docs/daemon.md, "Snapshots").
 */
import type { Terminal } from '@xterm/headless'

// ── xterm's cell layout (src/common/buffer/Constants.ts of @xterm/xterm 6) ──────────────────
export const CELL_SIZE = 3
export const CODEPOINT_MASK = 0x1fffff
export const IS_COMBINED = 0x200000
export const HAS_CONTENT = 0x3fffff
export const WIDTH_SHIFT = 22
export const CM_MASK = 0x3000000
export const CM_DEFAULT = 0
export const CM_P16 = 0x1000000
export const CM_RGB = 0x3000000
export const COLOR_MASK = 0xffffff
export const FG_INVERSE = 0x4000000
export const FG_BOLD = 0x8000000
export const FG_UNDERLINE = 0x10000000
export const FG_BLINK = 0x20000000
export const FG_INVISIBLE = 0x40000000
export const FG_STRIKETHROUGH = 0x80000000
export const BG_ITALIC = 0x4000000
export const BG_DIM = 0x8000000
export const BG_HAS_EXTENDED = 0x10000000
export const BG_PROTECTED = 0x20000000
export const BG_OVERLINE = 0x40000000
export const EXT_UNDERLINE_STYLE = 0x1c000000
export const EXT_UNDERLINE_COLOR = CM_MASK | COLOR_MASK
export const UNDERLINE_SINGLE = 1

// ── the internals read ─────────────────────────────────────────────────────────────────────
export interface Ext {
  _ext: number
  urlId: number
}
export interface Line {
  isWrapped: boolean
  _data: Uint32Array
  _combined: Record<number, string>
  _extendedAttrs: Record<number, Ext | undefined>
}
export interface Buf {
  lines: { length: number; maxLength: number; get(i: number): Line | undefined }
  x: number
  y: number
  ybase: number
  scrollTop: number
  scrollBottom: number
  savedX: number
  savedY: number
  savedCurAttrData: { fg: number; bg: number }
  savedCharset: unknown
  tabs: Record<number, boolean | undefined>
}
export interface Core {
  buffers: { normal: Buf; alt: Buf; active: Buf }
  coreService: {
    isCursorHidden: boolean
    modes: { insertMode: boolean }
    decPrivateModes: {
      applicationCursorKeys: boolean
      applicationKeypad: boolean
      bracketedPasteMode: boolean
      cursorBlink: boolean | undefined
      cursorStyle: 'block' | 'underline' | 'bar' | undefined
      origin: boolean
      reverseWraparound: boolean
      sendFocus: boolean
      synchronizedOutput: boolean
      wraparound: boolean
    }
  }
  coreMouseService: { activeProtocol: string; activeEncoding: string }
  _charsetService: { charset: unknown; glevel: number; _charsets: unknown[] }
  _inputHandler: { _curAttrData: { fg: number; bg: number; extended: Ext } }
  _oscLinkService: { getLinkData(id: number): { id?: string; uri: string } | undefined }
  optionsService: { rawOptions: { convertEol: boolean; cursorBlink: boolean; tabStopWidth: number } }
  unicodeService?: { wcwidth(codepoint: number): number }
}

/** The internals of `term` the serializer reads, or null when their shape is not the expected one. */
export function coreOf(term: Terminal): Core | null {
  const core = (term as unknown as { _core?: Partial<Core> })._core
  const normal = core?.buffers?.normal
  const line = normal?.lines?.get(0)
  const ok =
    !!core &&
    !!normal &&
    !!core.buffers?.alt &&
    line?._data instanceof Uint32Array &&
    typeof line._combined === 'object' &&
    typeof line._extendedAttrs === 'object' &&
    typeof normal.savedX === 'number' &&
    typeof normal.savedCurAttrData?.fg === 'number' &&
    typeof normal.tabs === 'object' &&
    typeof core.coreService?.decPrivateModes?.wraparound === 'boolean' &&
    typeof core.coreService.modes?.insertMode === 'boolean' &&
    typeof core.coreMouseService?.activeProtocol === 'string' &&
    Array.isArray(core._charsetService?._charsets) &&
    typeof core._inputHandler?._curAttrData?.extended?._ext === 'number' &&
    typeof core._oscLinkService?.getLinkData === 'function' &&
    typeof core.optionsService?.rawOptions?.tabStopWidth === 'number'
  return ok ? (core as Core) : null
}
