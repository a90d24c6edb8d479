/**
 * A snapshot is exact: reset a fresh terminal of the same size, write the snapshot, and it is the
 * terminal that saw every byte (docs/daemon.md, "Snapshots"), down to the state that decides how
 * later output lands. The oracle is plain @xterm/headless fed the same bytes through its public
 * API; the comparison (terminal-state.ts) covers every cell with its attributes, wrapped rows,
 * both screens, the cursor, the pen, saved cursors, tab stops, scroll regions, charsets and modes.
 *
 * Randomized streams mix text (wide and combining characters too) with every kind of sequence the
 * screen state depends on, resizes and alternate-screen trips, chunked at random and snapshotted
 * at random points (inside escape sequences too: see "clean cut"). `npm run soak` runs 1,500
 * seeds, `TABULA_SNAP_SEED=n` one of them (or a list, `n,m,…`).
 */
import { soakable } from '../helpers/soak.js'
import { describe, expect, it } from 'vitest'
import xtermHeadless from '@xterm/headless'
import { HeadlessScreen, type Snapshot } from '../../daemon/src/screen/screen.js'
import { rngFor, type Rng } from '../helpers/random.js'
import { applied, chopStream, plainXtermAt, settle, terminalState, type Step } from './terminal-state.js'

const { Terminal } = xtermHeadless
const seedCount = soakable(150, 1_500)
const onlySeed = process.env.TABULA_SNAP_SEED
/**
 * Soak seeds past the first 150 that once failed and are exact now, run by `npm test` too so they
 * stay so: 908 (a wide character whose second cell holds the next character after a reflow, kept
 * by the compact history through a resize; docs/daemon.md, "Compact scrollback").
 */
const REGRESSION_SEEDS = [908]
const seeds =
  onlySeed !== undefined
    ? onlySeed.split(',').map(Number)
    : [...Array.from({ length: seedCount }, (_, i) => i + 1), ...REGRESSION_SEEDS.filter((seed) => seed > seedCount)]

type Opts = { cols: number; rows: number; scrollback: number }

const enc = new TextEncoder()
const TEXT = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?-_=+*/()[]{}<>#$%&@^`|~'
const WIDE = ['漢', '字', '😀', 'Ｗ', 'e\u0301', 'a\u0308\u0323', '\u200b']
const SGR = [
  '\x1b[m',
  '\x1b[1m',
  '\x1b[2m',
  '\x1b[3m',
  '\x1b[4m',
  '\x1b[4:3m',
  '\x1b[4:5m',
  '\x1b[21m',
  '\x1b[24m',
  '\x1b[5m',
  '\x1b[7m',
  '\x1b[8m',
  '\x1b[9m',
  '\x1b[53m',
  '\x1b[22;23;25;27;28;29;55m',
  '\x1b[31m',
  '\x1b[97m',
  '\x1b[42m',
  '\x1b[104m',
  '\x1b[38;5;200m',
  '\x1b[48;5;17m',
  '\x1b[38;2;10;20;30m',
  '\x1b[48:2::200:100:0m',
  '\x1b[58;5;196m',
  '\x1b[58;2;1;2;3m',
  '\x1b[59m',
  '\x1b[39;49m',
  '\x1b[1"q',
  '\x1b[0"q',
]
const LINKS = ['\x1b]8;;https://a.example/\x1b\\', '\x1b]8;id=x1;https://b.example/\x07', '\x1b]8;;\x1b\\']
const CONTROL = [
  '\r\n',
  '\r\n',
  '\n',
  '\r',
  '\t',
  '\b',
  '\x1bM',
  '\x1bD',
  '\x1bE',
  '\x1b[5G',
  '\x1b[3;7H',
  '\x1b[2A',
  '\x1b[3B',
  '\x1b[4C',
  '\x1b[2D',
  '\x1b[H',
  '\x1b[99;99H',
  '\x1b[K',
  '\x1b[1K',
  '\x1b[2K',
  '\x1b[J',
  '\x1b[1J',
  '\x1b[2J',
  '\x1b[3J',
  '\x1b[3X',
  '\x1b[2@',
  '\x1b[2P',
  '\x1b[2L',
  '\x1b[2M',
  '\x1b[2S',
  '\x1b[T',
  '\x1b[3b',
  '\x1b7',
  '\x1b8',
  '\x1b[s',
  '\x1b[u',
  '\x1bH',
  '\x1b[g',
  '\x1b[3g',
  '\x1b[2I',
  '\x1b[Z',
  '\x1b[2;5r',
  '\x1b[r',
  '\x1b[3;6r',
  '\x1b[?6h',
  '\x1b[?6l',
  '\x1b[?7l',
  '\x1b[?7h',
  '\x1b[4h',
  '\x1b[4l',
  '\x1b[20h',
  '\x1b[20l',
  '\x1b(0',
  '\x1b(B',
  '\x1b)0',
  '\x1b*A',
  '\x1b+0',
  '\x0e',
  '\x0f',
  '\x1bn',
  '\x1bo',
  '\x1b%G',
  '\x1b[?1h',
  '\x1b[?1l',
  '\x1b=',
  '\x1b>',
  '\x1b[?2004h',
  '\x1b[?2004l',
  '\x1b[?1000h',
  '\x1b[?1002h',
  '\x1b[?1003h',
  '\x1b[?9h',
  '\x1b[?1000l',
  '\x1b[?1006h',
  '\x1b[?1006l',
  '\x1b[?1016h',
  '\x1b[?1004h',
  '\x1b[?45h',
  '\x1b[?25l',
  '\x1b[?25h',
  '\x1b[?12h',
  '\x1b[?12l',
  '\x1b[0 q',
  '\x1b[1 q',
  '\x1b[2 q',
  '\x1b[4 q',
  '\x1b[5 q',
  '\x1b[6 q',
  '\x1b[7 q',
  '\x1b[?1049h',
  '\x1b[?1049l',
  '\x1b[?1047h',
  '\x1b[?1047l',
  '\x1b[?47h',
  '\x1b[?1048h',
  '\x1b[?1048l',
  '\x1b]0;title\x07',
  '\x1b]2;t\x1b\\',
  '\x1b#8',
  '\x1b[?2026h',
  '\x1b[?2026l',
  '\x1bc',
]

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[Math.floor(rng() * list.length)]!
}

function streamFor(rng: Rng, cols: number, parts: number): string {
  const out: string[] = []
  const controlRate = 0.15 + rng() * 0.4
  for (let n = 0; n < parts; n++) {
    const r = rng()
    if (r < controlRate) out.push(pick(rng, CONTROL))
    else if (r < controlRate + 0.12) out.push(pick(rng, SGR))
    else if (r < controlRate + 0.15) out.push(pick(rng, LINKS))
    else {
      let text = ''
      const length = Math.floor(rng() * rng() * 2.5 * cols)
      for (let i = 0; i < length; i++) text += rng() < 0.06 ? pick(rng, WIDE) : TEXT[Math.floor(rng() * TEXT.length)]
      out.push(text)
    }
  }
  return out.join('')
}

const stepsFor = (rng: Rng, bytes: Uint8Array): Step[] =>
  chopStream(rng, bytes, { tinyShare: 0.3, maxChunk: 300, cutBelow: 0.04, resizeBelow: 0.055, cols: [5, 40], rows: [2, 10] })

/**
 * Whether xterm itself throws somewhere in these steps (@xterm/headless 6.0.0 throws in ED after
 * some sequences of resizes and screen switches): such a stream has no oracle to compare with.
 */
function crashesXterm(opts: Opts, steps: Step[]): boolean {
  const term = new Terminal({ ...opts, allowProposedApi: true, logLevel: 'off' })
  const input = (term as unknown as { _core: { _inputHandler: { parse(d: Uint8Array): void } } })._core._inputHandler
  try {
    for (const step of steps) {
      if (step.op === 'write') input.parse(step.data)
      else if (step.op === 'resize') term.resize(step.cols, step.rows)
    }
    return false
  } catch {
    return true
  } finally {
    term.dispose()
  }
}

/** Plain xterm through its public API: its whole state at every cut (see plainXtermAt). */
const reference = (opts: Opts, steps: Step[], covered: number[]) => plainXtermAt(opts, steps, covered, terminalState)

/** `compactTail`: scrollback rows xterm keeps itself, the rest compact (compact.ts). */
async function snapshots(opts: Opts, steps: Step[], compactTail?: number): Promise<Snapshot[]> {
  // A screen that fails is disposed and takes no more cuts: the test fails with its error.
  let failed: (err: unknown) => void = () => {}
  const failure = new Promise<never>((_, reject) => (failed = reject))
  const screen = new HeadlessScreen(
    { ...opts, noFastForward: !!process.env.TABULA_SNAP_NOFF, compactTail },
    () => {},
    (err) => failed(err),
  )
  const cuts: Promise<Snapshot>[] = []
  for (const step of steps) {
    if (step.op === 'write') screen.write(step.data, () => {})
    else if (step.op === 'cut')
      cuts.push(
        new Promise((resolve) =>
          screen.cut((snap) => {
            if (screen.storedRows > 0) cutsWithStoredRows++
            resolve(snap)
          }),
        ),
      )
    else screen.resize(step.cols, step.rows)
  }
  const all = await Promise.race([Promise.all(cuts), failure])
  screen.dispose()
  return all
}

describe('snapshots', () => {
  it(`reproduce plain xterm's whole state on ${seeds.length} random streams`, { timeout: soakable(180_000, 1_800_000) }, () => property())
  // Every scrollback row but one kept compact (compact.ts): rows leave xterm's buffer at every
  // scroll, are trimmed at the limit, cleared by ED 3 and RIS, and reflowed by every resize.
  it(`reproduce it on the same streams with the scrollback kept compact`, { timeout: soakable(180_000, 1_800_000) }, () => property(1))
})

/** Cuts taken while the screen had rows in its compact scrollback (so that test is not vacuous). */
let cutsWithStoredRows = 0

async function property(compactTail?: number) {
  cutsWithStoredRows = 0
  {
    let crashed = 0
    let coveredCuts = 0
    for (const seed of seeds) {
      const rng = rngFor(seed)
      const opts = { cols: 5 + Math.floor(rng() * 40), rows: 2 + Math.floor(rng() * 10), scrollback: Math.floor(rng() * 50) }
      const steps = stepsFor(rng, enc.encode(streamFor(rng, opts.cols, 100 + Math.floor(rng() * 400))))
      if (crashesXterm(opts, steps)) {
        crashed++
        continue
      }
      const got = await snapshots(opts, steps, compactTail)
      const expected = await reference(
        opts,
        steps,
        got.map((snapshot) => snapshot.covered ?? 0),
      )
      coveredCuts += got.filter((snapshot) => (snapshot.covered ?? 0) > 0).length
      for (let i = 0; i < got.length; i++) {
        const state = await applied(got[i]!, opts.scrollback)
        if (process.env.TABULA_SNAP_DEBUG && JSON.stringify(state) !== JSON.stringify(expected[i])) {
          const flat = (o: unknown) => JSON.stringify(o, null, 1).split('\n')
          const a = flat(expected[i])
          const b = flat(state)
          for (let k = 0; k < Math.max(a.length, b.length); k++) {
            if (a[k] === b[k]) continue
            const ta = (a[k] ?? '').split(' ')
            const tb = (b[k] ?? '').split(' ')
            let f = 0
            while (f < ta.length && ta[f] === tb[f]) f++
            console.log(
              `${k} @${f}\n- ${process.env.TABULA_SNAP_FULL ? a[k] : ta.slice(Math.max(0, f - 1), f + 3).join(' ')}\n+ ${process.env.TABULA_SNAP_FULL ? b[k] : tb.slice(Math.max(0, f - 1), f + 3).join(' ')}`,
            )
          }
          console.log(JSON.stringify(got[i]!.data))
        }
        if (process.env.TABULA_SNAP_COUNT) {
          if (JSON.stringify(state) !== JSON.stringify(expected[i])) {
            console.log('FAIL seed', seed, 'cut', i, compactTail === undefined ? 'plain' : 'compact')
            break
          }
          continue
        }
        expect(state, `seed ${seed}, cut ${i} (TABULA_SNAP_SEED=${seed} reruns it)`).toEqual(expected[i])
      }
    }
    // Streams on which xterm itself throws have no oracle; they must stay rare.
    expect(crashed).toBeLessThan(Math.max(2, seeds.length / 10))
    // Not vacuous: cuts did fall inside escape sequences, and were settled.
    if (seeds.length >= 50) expect(coveredCuts).toBeGreaterThan(5)
    if (compactTail !== undefined && seeds.length >= 50) expect(cutsWithStoredRows).toBeGreaterThan(seeds.length)
  }
}

/** One stream, one cut at its end: the snapshot must give plain xterm's state, and so must more output after it. */
async function exact(opts: Opts, stream: string, then = AFTER, resize?: { cols: number; rows: number; at: number }) {
  const bytes = enc.encode(stream)
  const steps: Step[] = resize
    ? [
        { op: 'write', data: bytes.slice(0, resize.at) },
        { op: 'resize', cols: resize.cols, rows: resize.rows },
        { op: 'write', data: bytes.slice(resize.at) },
        { op: 'cut' },
      ]
    : [{ op: 'write', data: bytes }, { op: 'cut' }]
  const [snapshot] = await snapshots(opts, steps)
  const [expected] = await reference(opts, steps, [snapshot!.covered ?? 0])
  expect(await applied(snapshot!, opts.scrollback)).toEqual(expected)
  // What a user sees next: the same output lands the same way on both.
  const late = new Terminal({
    cols: snapshot!.cols,
    rows: snapshot!.rows,
    scrollback: opts.scrollback,
    allowProposedApi: true,
    logLevel: 'off',
  })
  late.write('\x1bc' + snapshot!.data + then)
  const live = new Terminal({ ...opts, allowProposedApi: true, logLevel: 'off' })
  if (resize) {
    live.write(bytes.slice(0, resize.at))
    await settle(live)
    live.resize(resize.cols, resize.rows)
    live.write(bytes.slice(resize.at))
  } else live.write(bytes)
  live.write(then)
  await settle(late)
  await settle(live)
  expect(terminalState(late)).toEqual(terminalState(live))
  late.dispose()
  live.dispose()
  return snapshot!
}

/** Output after the snapshot that depends on the state it must carry. */
const AFTER = 'X\tT\x1b8R\x1b7qx\x0fq\x1b[2;3HO\x1b[MI\x1b[Lx\r\nnext'

describe('snapshot, targeted (each case a late joiner got wrong before)', () => {
  const small = { cols: 20, rows: 6, scrollback: 50 }
  it('keeps the cursor in the pending wrap after a full last row (a status line)', async () => {
    await exact(small, 'hello\x1b[6;1H' + 's'.repeat(20))
  })
  it('writes a scroll-down without stray cells', async () => {
    await exact(small, 'one\r\ntwo\r\nthree-\x1b[H\x1bM\x1bMtop')
  })
  it('keeps a wrapped row that starts with blanks, and an empty wrapped row, in place', async () => {
    await exact(small, 'a'.repeat(20) + '     b' + '\r\n' + 'c'.repeat(20) + 'd\b\x1b[X\r\nbelow\r\nlast')
  })
  it('shrinks with the alternate screen shown, keeping its last column and no hidden text', async () => {
    await exact(small, 'normal text\x1b[?1049h' + 'alt'.repeat(20), AFTER, { cols: 12, rows: 4, at: 11 + 8 + 30 })
  })
  it('keeps the alternate screen with its pen, without leaking it into the first cells', async () => {
    await exact(small, 'x\x1b[41;33m\x1b[?1049h\x1b[44mblue\x1b[31m')
  })
  it('keeps a hidden cursor, the cursor shape, underline style and colour, hyperlinks', async () => {
    await exact(
      small,
      '\x1b[?25l\x1b[4 q\x1b[4:3;58;2;255;0;0mcurly\x1b[24m \x1b]8;id=a;https://example.com/\x1b\\link\x1b]8;;\x1b\\ \x1b[4:2;58;5;33mdouble',
    )
  })
  it('keeps origin mode with its scroll region (the cursor is not sent home)', async () => {
    await exact(small, 'top\x1b[2;5r\x1b[?6h\x1b[3;4Hin')
  })
  it('keeps the saved cursor, tab stops, scroll region, charsets and the mouse encoding', async () => {
    const snapshot = await exact(
      small,
      '\x1b[2;3H\x1b[1;32m\x1b7\x1b[m\x1b[3g\x1b[5G\x1bH\x1b[11G\x1bH\x1b[2;4r\x1b)0\x0e\x1b[?1002;1006h\x1b[6;1Habc',
    )
    expect(snapshot.data.length).toBeGreaterThan(0)
  })
  it('keeps insert mode, autowrap off, bracketed paste, application keys', async () => {
    await exact(small, 'abc\x1b[4h\x1b[?7l\x1b[?2004h\x1b[?1h\x1b=' + 'z'.repeat(30))
  })
  it('reflows history at the width of the driver after a resize', async () => {
    let text = ''
    for (let i = 0; i < 40; i++) text += `line ${i} ` + 'w'.repeat(i % 30) + '\r\n'
    await exact(small, text + 'end', AFTER, { cols: 13, rows: 5, at: text.length / 2 })
  })
})

describe('snapshot, targeted (states only some sequences make)', () => {
  const small = { cols: 20, rows: 6, scrollback: 50 }
  const row = 'a'.repeat(18)
  it('keeps a wide character whose right half a print from the pending wrap replaced (autowrap off)', async () => {
    await exact(small, `\x1b[?7l${row}漢j\x1b[?7h`)
    await exact(small, `\x1b[?7l${row}漢\x1b[31mj\x1b[m\x1b[?7h\r\nnext`)
  })
  it('keeps a wide character whose right half a skipped wide one blanked (autowrap off)', async () => {
    // From the pending wrap after the wide character, the one that does not fit is skipped and
    // the cursor's cell is made a blank in the pen, the wide character left as it was.
    await exact(small, `\x1b[?7l${row}漢\x1b[31m字\x1b[m\x1b[?7h\r\n`)
    await exact(small, `\x1b[?7l${row}漢字\x1b[1;5H\x1b[3P\x1b[?7h\r\n`)
  })
  it('keeps a cell widened by a zero-width character after a wide one that did not fit', async () => {
    await exact(small, `\x1b[1;20H\x1b[32mZ\x1b[1;19H\x1b[m\x1b[?7l,漢\u200b\x1b[?7h\r\n`)
    await exact(small, `\x1b[?7l${row},漢\u200bZ\x1b[?7hwrapped on`)
    await exact(small, `\x1b[?7l\x1b[1;19H漢\u200b\x1b[?7h\r\n`)
    // A blank that took in two zero-width characters.
    await exact(small, `\x1b[1;20H\x1b[?7l漢\u200b\u200bZ\x1b[?7h\r\n`)
  })
  it('keeps a zero-width character alone in the first cell of a wrapped row', async () => {
    // Printed after a CR it joins nothing and takes the cell; printed from the pending wrap it
    // would not wrap.
    await exact(small, `${'a'.repeat(20)}bc\r\u200b`)
    await exact(small, `${'a'.repeat(20)}bc\r\x1b[31m\u200b\r\n`)
  })
  it('keeps a zero-width character alone in the cell before a last blank ECH cannot make', async () => {
    // Insert mode pushes the wide character half out of the row: the last cell is left blank in
    // the printing pen (inverse here).
    await exact(small, `\x1b[1;19H漢\x1b[1;18H\x1b[4h\x1b[7mQ\x1b[4l\x1b[m\x1b[1;19H\u200b\r\n`)
  })
  it('keeps such a pair moved left by DCH', async () => {
    await exact(small, `\x1b[?7l${row}漢j\x1b[1;5H\x1b[3P\x1b[2;19H,漢\u200b\x1b[2;3H\x1b[4P\x1b[?7h\r\n`)
  })
  it('erases the stand-in of a blank ECH cannot make before the trailing blanks of a row', async () => {
    // The underlined blank is made by printing over the right half of a wide stand-in; the ' '
    // printed there sits in the row's trailing default blanks, which are otherwise skipped.
    await exact({ cols: 11, rows: 6, scrollback: 50 }, 'xxxxxxx\x1b[4m漢\x1b[m\x1b[9G\x1b[4m \x1b[m\x1b[9G\x1b[X')
  })
  it('writes a wide character a resize left in the last column as the blank it covers', async () => {
    await exact(small, `${row}漢\r\nnext`, AFTER, { cols: 19, rows: 6, at: 21 })
  })
  it('writes such a wide character before a wrapped row in its attributes', async () => {
    const wide = { cols: 20, rows: 3, scrollback: 10 }
    await exact(wide, `\x1b[7m${row}漢${'w'.repeat(30)}${'字x'.repeat(12)}`, AFTER, { cols: 19, rows: 3, at: 60 })
  })
  it('leaves out the rows a resize left above the alternate screen', async () => {
    // Shrunk on the normal screen: the alternate buffer keeps the old height as its row limit.
    await exact(small, `x\x1b[?1049h${'line\r\n'.repeat(10)}end`, AFTER, { cols: 20, rows: 3, at: 1 })
    await exact(small, `x\x1b[?1049h${'r'.repeat(205)}`, AFTER, { cols: 20, rows: 3, at: 1 })
  })
  it('keeps the pending wrap of a row whose last cell is blank', async () => {
    await exact(small, `top\r\n${'a'.repeat(20)}\x1b[2K`)
    await exact(small, `\x1b[?1049h\x1b[?1049l${'b'.repeat(20)}\x1b[1K`)
  })
  it("keeps the alternate screen's pending wrap on a row an erase or a scroll left under it", async () => {
    await exact(small, `\x1b[?1049htext\x1b[2;1H${'q'.repeat(20)}\x1b[41m\x1b[1K`)
    await exact(small, `\x1b[?1049h${'z'.repeat(20)}\x1b[2;1Hmid\x1b[3;1H${'p'.repeat(20)}\x1b[2K\x1b[T`)
    await exact(small, `\x1b[?1049h\x1b[3;1Hlow\x1b[4;1H${'s'.repeat(20)}\x1b[2K\x1b[S`)
  })
  it("keeps the alternate screen's pending wrap after a split wide cell, in origin mode too", async () => {
    // A narrow character printed in the same run as the zero-width one that widened the cell
    // before it leaves the pending wrap (a later print there would blank the pair).
    await exact(small, `\x1b[?1049h\x1b[?7l${row},漢\u200bZ\x1b[?7h`)
    // In origin mode xterm's CHA adds the region's top to the cursor's row.
    await exact(small, `\x1b[?1049h\x1b[3;6r\x1b[?6h\x1b[2;1H\x1b[?7l${row}漢j\x1b[?7h`)
    await exact(small, `\x1b[?1049h\x1b[3;6r\x1b[?6h\x1b[2;1H\x1b[?7l${row},漢\u200bZ\x1b[?7h`)
  })
  it('keeps the hyperlink of a first row marked wrapped that only its first cell carries', async () => {
    // xterm tied the link to the row the print wrapped from and to the row below (printed on
    // after CR LF); the snapshot's stand-in for the row above goes, the link must stay known.
    await exact(small, `\x1b[?1049h${'a'.repeat(20)}\x1b]8;;https://x.example/\x1b\\g\r\nxyz\x1b]8;;\x1b\\\x1b[S`)
  })
  it('keeps the cursor below the scroll region in origin mode, where the alternate screen left it', async () => {
    await exact(small, 'top\x1b[3;5r\x1b[?1047h\x1b[?6h\x1b[6;3H\x1b[?1047l')
  })
  it('keeps a charset in use that DECRC on the alternate screen restored', async () => {
    await exact(small, 'text\x1b[?1047h\x1b(0\x1b7\x1b(B\x1b8\x1b[?1047l')
  })
  it('keeps no charset in use on the alternate screen that DECRC on the normal screen gave', async () => {
    // The alternate screen's saved cursor has a charset and SO shifted one in: only the normal
    // screen's DECRC, before the alternate screen was entered, leaves none in use there.
    await exact(small, 'text\x1b[?1047h\x1b(0\x1b7\x1b(B\x1b[?1047l\x1b)0\x0e\x1b8\x1b[?1047hqrs')
  })
})

describe('clean cut', () => {
  it('takes a cut that falls inside an escape sequence where the sequence ends', async () => {
    const screen = new HeadlessScreen({ cols: 20, rows: 4, scrollback: 10 }, () => {})
    screen.write(enc.encode('plain \x1b[3'), () => {})
    const cut = new Promise<Snapshot>((resolve) => screen.cut(resolve))
    screen.write(enc.encode('1mRED\x1b[m'), () => {})
    const snapshot = await cut
    screen.dispose()
    expect(snapshot.covered).toBe(2) // "1m" is in the snapshot; the live output starts at "RED"
    // The late viewer: snapshot, then the live output after what it covers.
    const late = new Terminal({ cols: 20, rows: 4, allowProposedApi: true })
    late.write('\x1bc' + snapshot.data)
    late.write(enc.encode('1mRED\x1b[m').subarray(snapshot.covered))
    await settle(late)
    const line = late.buffer.active.getLine(0)!
    expect(line.translateToString(true)).toBe('plain RED')
    expect(line.getCell(6)!.getFgColor()).toBe(1) // red, not the text "1mRED"
    late.dispose()
  })

  it('takes a cut inside a zero-width character where plain xterm, fed the same chunks, joins it', async () => {
    const opts = { cols: 20, rows: 4, scrollback: 10 }
    const bytes = enc.encode('aW\u200bx')
    // Cut after the first byte of U+200B: settling must not split the character's rest again.
    const steps: Step[] = [{ op: 'write', data: bytes.slice(0, 3) }, { op: 'cut' }, { op: 'write', data: bytes.slice(3) }]
    const [snapshot] = await snapshots(opts, steps)
    expect(snapshot!.covered).toBe(2)
    const [expected] = await reference(opts, steps, [snapshot!.covered ?? 0])
    expect(await applied(snapshot!, opts.scrollback)).toEqual(expected)
    expect(snapshot!.data).toContain('W\u200b')
  })

  it('does not wait forever for a sequence the program never finishes', async () => {
    const screen = new HeadlessScreen({ cols: 20, rows: 4, scrollback: 10 }, () => {})
    screen.write(enc.encode('stuck \x1b]0;tit'), () => {})
    const snapshot = await new Promise<Snapshot>((resolve) => screen.cut(resolve))
    screen.dispose()
    expect(snapshot.covered ?? 0).toBe(0)
    expect(snapshot.data).toContain('stuck')
  })
})
