/**
 * Counts in control sequences clamped to the screen (daemon/src/screen/clamp.ts, docs/daemon.md
 * "Hostile output"), checked against plain @xterm/headless fed the unclamped bytes: where the
 * count is past what the screen can show, the clamped stream leaves the same screen; everything
 * else passes through byte for byte, however the stream is split into reads.
 */
import { describe, expect, it } from 'vitest'
import xtermHeadless from '@xterm/headless'
import { clampTitle, MAX_CONTROL_SEQUENCE_BYTES, MAX_TITLE_CHARS } from '@tabula/protocol'
import { CsiClamp } from '../../daemon/src/screen/clamp.js'
import { rngFor, type Rng } from '../helpers/random.js'

const { Terminal } = xtermHeadless
const COLS = 40
const ROWS = 12
const enc = (s: string) => new TextEncoder().encode(s)
/** A string of byte values (\xc2\x9b is the C1 CSI's two bytes, not two characters). */
const bytes = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'))
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1')

/** The screen (every line of buffer and scrollback, and the cursor) after `data`, parsed by plain xterm. */
async function screenAfter(data: Uint8Array): Promise<string> {
  const term = new Terminal({ cols: COLS, rows: ROWS, scrollback: 200, allowProposedApi: true, logLevel: 'off' })
  await new Promise<void>((resolve) => term.write(data, resolve))
  const buffer = term.buffer.active
  const lines: string[] = []
  for (let y = 0; y < buffer.length; y++) lines.push(buffer.getLine(y)!.translateToString(true))
  term.dispose()
  return `${lines.join('\n')}\ncursor ${buffer.cursorX},${buffer.cursorY}`
}

/** `data` through one clamp in the given pieces. */
function clamped(data: Uint8Array, cuts: number[] = []): Uint8Array {
  const clamp = new CsiClamp(COLS, ROWS)
  const out: number[] = []
  let from = 0
  for (const to of [...cuts, data.length]) {
    out.push(...clamp.filter(data.subarray(from, to)))
    from = to
  }
  return Uint8Array.from(out)
}

/** A screen full of distinct lines, the cursor in the middle: something for every sequence to move. */
const SCENE = Array.from({ length: 30 }, (_, i) => `line ${i} ${'abcdefghij'.repeat(3)}`).join('\r\n') + '\x1b[6;8H'

describe('counts past the screen are clamped; the screen is the same as unclamped', () => {
  // 100000 is slow enough for the unclamped oracle to notice, small enough for it to finish.
  it.each([
    ['S (scroll up)', '\x1b[100000S', `\x1b[${ROWS}S`],
    ['T (scroll down)', '\x1b[100000T', `\x1b[${ROWS}T`],
    ['L (insert lines)', '\x1b[100000L', `\x1b[${ROWS}L`],
    ['M (delete lines)', '\x1b[100000M', `\x1b[${ROWS}M`],
    ['Z (tab backward)', '\x1b[100000Z', `\x1b[${COLS}Z`],
    ['I (tab forward)', '\x1b[100000I', `\x1b[${COLS}I`],
    ['@ (insert characters)', '\x1b[100000@', `\x1b[${COLS}@`],
    ['P (delete characters)', '\x1b[100000P', `\x1b[${COLS}P`],
    ['X (erase characters)', '\x1b[100000X', `\x1b[${COLS}X`],
    ['SL (scroll left)', '\x1b[100000 @', `\x1b[${COLS} @`],
    ['DECDC (delete columns)', "\x1b[100000'~", `\x1b[${COLS}'~`],
    ['S in a scroll region', '\x1b[3;8r\x1b[5;1H\x1b[100000S', `\x1b[3;8r\x1b[5;1H\x1b[${ROWS}S`],
    ['S by the C1 introducer', '\xc2\x9b100000S', `\xc2\x9b${ROWS}S`],
    ['S with a line feed inside', '\x1b[100\n000S', `\n\x1b[${ROWS}S`],
    ['S with leading zeros and a second count', '\x1b[0000100000;7S', `\x1b[${ROWS};7S`],
    ['S of 2^31-1 (11 digits, saturated)', '\x1b[99999999999S', `\x1b[${ROWS}S`],
  ])('%s', async (_name, seq, expected) => {
    const data = Buffer.from(SCENE + seq + 'after', 'latin1')
    const out = clamped(data)
    expect(text(out)).toBe(SCENE + expected + 'after')
    if (!seq.includes('99999999999')) expect(await screenAfter(out)).toBe(await screenAfter(data))
  })

  it('repeat (b) is cut to the whole screen; the screen shows the same, the scrollback fewer copies', async () => {
    const data = enc('x\x1b[100000b')
    const out = clamped(data)
    expect(text(out)).toBe(`x\x1b[${COLS * ROWS}b`)
    const visible = async (d: Uint8Array) => (await screenAfter(d)).split('\n').slice(-ROWS - 1)
    expect(await visible(out)).toEqual(await visible(data))
  })

  it('a count that would not fit the screen is clamped however the stream is split into reads', () => {
    const data = bytes('ab\x1b[5000000Scd\x1b[2147483647Lef\xc2\x9b9999Ighi')
    const whole = text(clamped(data))
    expect(whole).toBe(`ab\x1b[${ROWS}Scd\x1b[${ROWS}Lef\xc2\x9b${COLS}Ighi`)
    for (let at = 1; at < data.length; at++) {
      for (let second = at; second < data.length; second += 3) expect(text(clamped(data, [at, second]))).toBe(whole)
    }
  })
})

describe('everything else passes through unchanged', () => {
  it.each([
    ['private prefix (XTSMGRAPHICS)', '\x1b[?1;1;100000S'],
    ['counts within the screen', `\x1b[${ROWS}S\x1b[3L\x1b[${COLS}@`],
    ['SGR and cursor moves with large values', '\x1b[38;5;200m\x1b[100000;100000H\x1b[100000C'],
    ['an OSC title holding bracket digits', '\x1b]0;[100000S\x07'],
    ['an ESC intermediate followed by a bracket (not a CSI)', '\x1b([100000S'],
    ['an ignored sequence (parameter after intermediate)', '\x1b[ 100000S'],
  ])('%s', (_name, seq) => {
    const data = enc(`pre${seq}post`)
    expect(text(clamped(data))).toBe(text(data))
  })

  it('random escape-sequence fuzz with small counts, split at random points: byte-identical', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rng = rngFor(seed)
      const data = fuzz(rng, 400, 9)
      const cuts = Array.from({ length: 1 + Math.floor(rng() * 6) }, () => Math.floor(rng() * data.length)).sort((a, b) => a - b)
      expect(text(clamped(data, cuts)), `seed ${seed}`).toBe(text(data))
    }
  })

  it('random fuzz with huge counts: every screen matches plain xterm fed the original, outside repeat', async () => {
    for (let seed = 1; seed <= 25; seed++) {
      const rng = rngFor(1000 + seed)
      const data = fuzz(rng, 120, 5000, false)
      const cuts = Array.from({ length: 3 }, () => Math.floor(rng() * data.length)).sort((a, b) => a - b)
      const out = clamped(data, cuts)
      expect(await screenAfter(out), `seed ${1000 + seed}`).toBe(await screenAfter(data))
    }
  })
})

describe('titles are cut to MAX_TITLE_CHARS before any parser gathers them', () => {
  /** The screen after `data`, and the last title xterm reported, cut as the daemon keeps it. */
  async function seen(data: Uint8Array): Promise<{ screen: string; title: string | null }> {
    const term = new Terminal({ cols: COLS, rows: ROWS, scrollback: 200, allowProposedApi: true, logLevel: 'off' })
    let title: string | null = null
    term.onTitleChange((t) => (title = clampTitle(t)))
    await new Promise<void>((resolve) => term.write(data, resolve))
    const buffer = term.buffer.active
    const lines: string[] = []
    for (let y = 0; y < buffer.length; y++) lines.push(buffer.getLine(y)!.translateToString(true))
    term.dispose()
    return { screen: `${lines.join('\n')}\ncursor ${buffer.cursorX},${buffer.cursorY}`, title }
  }
  const long = (unit: string) => unit.repeat(Math.ceil((3 * MAX_TITLE_CHARS) / unit.length))

  it.each([
    ['ASCII, ended by BEL', '\x1b]0;', long('T'), '\x07'],
    ['two-byte characters, ended by ESC \\', '\x1b]2;', long('é'), '\x1b\\'],
    ['three-byte characters, ended by C1 ST', '\x1b]0;', long('世'), '\u009c'],
    ['four-byte characters (surrogate pairs), by the C1 OSC', '\u009d2;', long('😀'), '\x07'],
    ['a line feed and a tab inside (ignored by xterm)', '\x1b]0;', `${long('ab')}\n\t${long('cd')}`, '\x07'],
    ['ended by a C1 CSI that goes on to colour the text', '\x1b]0;', long('x'), '\u009b31m'],
    ['aborted by CAN (no title)', '\x1b]0;', long('z'), '\x18'],
    ['OSC 1, the icon name', '\x1b]1;', long('i'), '\x07'],
  ])('%s: the same screen and title as plain xterm, however it is split', async (_name, intro, payload, end) => {
    const data = enc(`before${intro}${payload}${end}after\x1b]0;short\x07 and ${intro}${payload}${end}last`)
    const expected = await seen(data)
    const whole = clamped(data)
    expect(whole.length).toBeLessThan(200 + 2 * 4 * MAX_TITLE_CHARS)
    expect(await seen(whole)).toEqual(expected)
    const rng = rngFor(7)
    for (let round = 0; round < 12; round++) {
      const cuts = Array.from({ length: 4 }, () => Math.floor(rng() * data.length)).sort((a, b) => a - b)
      expect(text(clamped(data, cuts)), `cuts ${cuts}`).toBe(text(whole))
    }
    for (let at = data.length - 2 * end.length - 40; at < data.length; at++) expect(text(clamped(data, [at]))).toBe(text(whole))
  })

  it('keeps a title within the bound, and every other OSC, byte for byte', () => {
    for (const seq of [
      `\x1b]0;${'t'.repeat(MAX_TITLE_CHARS)}\x07`,
      `\x1b]8;id=1;https://example.com/${'p'.repeat(5000)}\x1b\\link\x1b]8;;\x1b\\`,
      `\x1b]52;c;${'QUJD'.repeat(5000)}\x07`,
      `\x1b]10;${'x'.repeat(3000)}\x07`,
      `\x1b]00;${'t'.repeat(MAX_TITLE_CHARS)}\x07`,
    ]) {
      const data = enc(`a${seq}b`)
      expect(text(clamped(data, [3, 700]))).toBe(text(data))
    }
  })

  it('random long titles with controls, C1 and broken UTF-8 past the bound: the same screen and title as plain xterm', async () => {
    const pieces = [
      'a',
      'é',
      '世',
      '😀',
      '\n',
      '\x00',
      '\x7f',
      '\xc2\xa0',
      '\xc2',
      '\xc2\x9c',
      '\xc2\x9b1m',
      '\xc2\x85',
      '\x9c',
      '\xbf',
      '\xff',
      '\x1b',
      '\x1b\\',
      '\x07',
      '\x18',
      '\x1b]0;',
    ]
    for (let seed = 1; seed <= 60; seed++) {
      const rng = rngFor(500 + seed)
      let s = 'start'
      for (let k = 0; k < 3; k++) {
        s += rng() < 0.5 ? '\x1b]2;' : '\xc2\x9d0;'
        s += 'T'.repeat(MAX_TITLE_CHARS - 3 + Math.floor(rng() * 6))
        for (let n = Math.floor(rng() * 40); n > 0; n--) s += rng() < 0.6 ? 'x' : pieces[Math.floor(rng() * pieces.length)]!
        s += `\x07text ${k}`
      }
      // \xNN below 0x100 are bytes here; other characters go as UTF-8.
      const data = Uint8Array.from(
        Buffer.from(
          s.replace(/[^\x00-\xff]/g, (c) => Buffer.from(c).toString('latin1')),
          'latin1',
        ),
      )
      const cuts = Array.from({ length: 5 }, () => Math.floor(rng() * data.length)).sort((a, b) => a - b)
      const out = clamped(data, cuts)
      expect(text(out), `seed ${500 + seed}: split reads`).toBe(text(clamped(data)))
      expect(await seen(out), `seed ${500 + seed}`).toEqual(await seen(data))
    }
  })

  it('a megabyte title leaves at most MAX_TITLE_CHARS of it for the parser', () => {
    const data = enc(`\x1b]2;${'T'.repeat(1024 * 1024)}\x1b\\`)
    const pieces = Array.from({ length: 64 }, (_, i) => Math.floor((i * data.length) / 64))
    expect(text(clamped(data, pieces))).toBe(`\x1b]2;${'T'.repeat(MAX_TITLE_CHARS)}\x1b\\`)
  })
})

describe('bounded holding', () => {
  it(`a sequence longer than ${MAX_CONTROL_SEQUENCE_BYTES} bytes is dropped whole, and what follows passes`, () => {
    const long = '\x1b[' + '1;'.repeat(MAX_CONTROL_SEQUENCE_BYTES) + '5000000S'
    expect(text(clamped(enc(`a${long}b\x1b[2Sc`)))).toBe('ab\x1b[2Sc')
  })

  it('holds at most one sequence across reads, never the output around it', () => {
    const clamp = new CsiClamp(COLS, ROWS)
    expect(text(clamp.filter(enc('hello\x1b[12')))).toBe('hello')
    expect(text(clamp.filter(enc('34')))).toBe('')
    expect(text(clamp.filter(enc('5Sworld')))).toBe(`\x1b[${ROWS}Sworld`)
  })

  it('passes a chunk whose sequences all pass unchanged on as it came, with no copy, and copies only when something changes', () => {
    const clamp = new CsiClamp(COLS, ROWS)
    // A coloured log line: SGR, a private mode, an erase and counts within the screen.
    const plain = enc(`\x1b[2m12:00\x1b[0m \x1b[38;5;208mWARN\x1b[m\x1b[?25l\x1b[2J\x1b[${ROWS}S\x1b[3;4H done\r\n`)
    expect(clamp.filter(plain)).toBe(plain)
    const clampedCount = enc(`a\x1b[1mb\x1b[${ROWS + 1}Sc`)
    const out = clamp.filter(clampedCount)
    expect(out).not.toBe(clampedCount)
    expect(text(out)).toBe(`a\x1b[1mb\x1b[${ROWS}Sc`)
    // A sequence cut by the end of a read is held, and the next read completes it.
    expect(text(clamp.filter(enc('x\x1b[3')))).toBe('x')
    expect(text(clamp.filter(enc('1my')))).toBe('\x1b[31my')
  })

  it('follows the screen size', () => {
    const clamp = new CsiClamp(COLS, ROWS)
    clamp.resize(100, 50)
    expect(text(clamp.filter(enc('\x1b[70S\x1b[200@')))).toBe('\x1b[50S\x1b[100@')
  })
})

/**
 * Random text, controls and CSI sequences (counts below `maxCount`), as a terminal program might
 * print; `exact` false adds what changes bytes but not the screen (controls inside sequences) and
 * leaves out repeat.
 */
function fuzz(rng: Rng, parts: number, maxCount: number, exact = true): Uint8Array {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng() * xs.length)]!
  const finals = ['S', 'T', 'L', 'M', '@', 'P', 'X', 'Z', 'I', 'A', 'B', 'C', 'D', 'H', 'J', 'K', 'm', 'r', ...(exact ? ['b'] : [])]
  let s = ''
  for (let i = 0; i < parts; i++) {
    const r = rng()
    if (r < 0.35) s += pick(['word ', 'x', 'héllo ', '\u4e16\u754c', '\r\n', '\n', '\t', '\b'])
    else if (r < 0.85) {
      const intro = rng() < 0.9 ? '\x1b[' : '\xc2\x9b'
      const count = Math.floor(rng() * maxCount)
      const params = rng() < 0.2 ? `${count};${Math.floor(rng() * 9)}` : rng() < 0.1 ? '' : String(count)
      // A control inside a sequence is passed on before it (same screen, other bytes): only in the screen test.
      const inside = !exact && rng() < 0.05 ? '\n' : ''
      s += intro + (rng() < 0.05 ? '?' : '') + params.slice(0, 1) + inside + params.slice(1) + pick(finals)
    } else s += pick(['\x1b]0;title\x07', '\x1b(B', '\x1b7', '\x1b8', '\x1bM', '\x1b[?25l', '\x1b[?1049h', '\x1b[?1049l', '\x18', '\x1b'])
  }
  // Strings with \xc2 are meant as bytes; the rest is UTF-8 text.
  return Uint8Array.from(
    Buffer.from(
      s.replace(/[^\x00-\xff]/g, (c) => Buffer.from(c).toString('latin1')),
      'latin1',
    ),
  )
}
