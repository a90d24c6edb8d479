/**
 * The screen-only cut of a screen-first attach (docs/protocol.md, "Screen first"): written into a
 * fresh terminal after a reset, it gives the terminal a whole snapshot gives, screen for screen
 * (every cell of the visible rows with its attributes and wraps, the cursor, the pen, saved
 * cursors, tab stops, scroll region, charsets, modes, the alternate screen) with no scrollback at
 * all. Both cuts are taken at the same point of random streams (wrapped rows, scrolling regions,
 * the alternate screen, resizes, compact history), and compared whole (terminal-state.ts).
 */
import { describe, expect, it } from 'vitest'
import xtermHeadless from '@xterm/headless'
import { HeadlessScreen, type Snapshot } from '../../daemon/src/screen/screen.js'
import { rngFor, type Rng } from '../helpers/random.js'
import { soakable } from '../helpers/soak.js'
import { chopStream, settle, terminalState, type Step } from '../screen/terminal-state.js'

const enc = new TextEncoder()
const seeds = Array.from({ length: soakable(120, 1_000) }, (_, i) => i + 1)

const TEXT = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789.,;:-_=+*/'
const WIDE = ['漢', '字', '😀', 'e\u0301']
const SEQUENCES = [
  '\r\n',
  '\r\n',
  '\r\n',
  '\n',
  '\r',
  '\t',
  '\b',
  '\x1bM',
  '\x1bD',
  '\x1b[3;7H',
  '\x1b[2A',
  '\x1b[99;99H',
  '\x1b[K',
  '\x1b[1K',
  '\x1b[J',
  '\x1b[2J',
  '\x1b[3J',
  '\x1b[2L',
  '\x1b[2M',
  '\x1b[2S',
  '\x1b[T',
  '\x1b7',
  '\x1b8',
  '\x1bH',
  '\x1b[3g',
  '\x1b[2;5r',
  '\x1b[r',
  '\x1b[?6h',
  '\x1b[?6l',
  '\x1b[?7l',
  '\x1b[?7h',
  '\x1b(0',
  '\x1b(B',
  '\x0e',
  '\x0f',
  '\x1b[?1h',
  '\x1b[?2004h',
  '\x1b[?1000h',
  '\x1b[?1006h',
  '\x1b[?25l',
  '\x1b[?25h',
  '\x1b[5 q',
  '\x1b[?1049h',
  '\x1b[?1049l',
  '\x1b[?1047h',
  '\x1b[?1047l',
  '\x1b[m',
  '\x1b[1;31m',
  '\x1b[4:3m',
  '\x1b[44m',
  '\x1b[38;2;10;20;30m',
  '\x1b[7m',
  '\x1b]8;;https://a.example/\x1b\\',
  '\x1b]8;;\x1b\\',
]

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[Math.floor(rng() * list.length)]!
}

/** Mostly text (long runs wrap, many lines scroll into the history), some sequences. */
function streamFor(rng: Rng, cols: number, parts: number): string {
  const out: string[] = []
  for (let n = 0; n < parts; n++) {
    if (rng() < 0.35) out.push(pick(rng, SEQUENCES))
    else {
      let text = ''
      const length = Math.floor(rng() * rng() * 3 * cols)
      for (let i = 0; i < length; i++) text += rng() < 0.05 ? pick(rng, WIDE) : TEXT[Math.floor(rng() * TEXT.length)]
      out.push(text)
    }
  }
  return out.join('')
}

type Opts = { cols: number; rows: number; scrollback: number }

/**
 * Every cut of `steps`, screen only or whole. (Two screens fed the same steps take each pair of
 * cuts at the same point: one screen taking both would take the first before the second could
 * finish an escape sequence it fell in, see CUT_SETTLE_MS.)
 */
async function cuts(opts: Opts, steps: Step[], screenOnly: boolean, compactTail?: number): Promise<Snapshot[]> {
  let failed: (err: unknown) => void = () => {}
  const failure = new Promise<never>((_, reject) => (failed = reject))
  const screen = new HeadlessScreen(
    { ...opts, compactTail },
    () => {},
    (err) => failed(err),
  )
  const all: Promise<Snapshot>[] = []
  for (const step of steps) {
    if (step.op === 'write') screen.write(step.data, () => {})
    else if (step.op === 'resize') screen.resize(step.cols, step.rows)
    else all.push(new Promise<Snapshot>((resolve) => screen.cut(resolve, screenOnly)))
  }
  const done = await Promise.race([Promise.all(all), failure])
  screen.dispose()
  return done
}

/** A fresh terminal of the snapshot's size, reset and fed it: its state and its scrollback's length. */
async function apply(snapshot: Snapshot, scrollback: number) {
  const term = new xtermHeadless.Terminal({ cols: snapshot.cols, rows: snapshot.rows, scrollback, allowProposedApi: true, logLevel: 'off' })
  term.write('\x1bc' + snapshot.data)
  await settle(term)
  const state = terminalState(term)
  const history = term.buffer.normal.baseY
  term.dispose()
  return { state, history }
}

/** The state with the normal buffer's scrollback rows left out: what the screen-only cut must give. */
function onScreen(state: ReturnType<typeof terminalState>) {
  const { normal } = state
  return { ...state, normal: { ...normal, lines: normal.lines.slice(normal.ybase), ybase: 0 } }
}

/**
 * xterm itself throws on some mixes of resizes, screen switches and erases (snapshot.test.ts,
 * crashesXterm): such a stream has no screen to compare.
 */
function crashesXterm(opts: Opts, steps: Step[]): boolean {
  const term = new xtermHeadless.Terminal({ ...opts, allowProposedApi: true, logLevel: 'off' })
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

async function property(compactTail?: number) {
  let withHistory = 0
  let wrappedTop = 0
  let crashed = 0
  for (const seed of seeds) {
    const rng = rngFor(seed)
    const opts = { cols: 5 + Math.floor(rng() * 30), rows: 2 + Math.floor(rng() * 8), scrollback: 5 + Math.floor(rng() * 60) }
    const steps = chopStream(rng, enc.encode(streamFor(rng, opts.cols, 80 + Math.floor(rng() * 300))), {
      tinyShare: 0.2,
      maxChunk: 300,
      cutBelow: 0.05,
      resizeBelow: 0.065,
      cols: [5, 30],
      rows: [2, 8],
    })
    if (crashesXterm(opts, steps)) {
      crashed++
      continue
    }
    const screens = await cuts(opts, steps, true, compactTail)
    const wholes = await cuts(opts, steps, false, compactTail)
    for (let i = 0; i < screens.length; i++) {
      const [screenOnly, whole] = [screens[i]!, wholes[i]!]
      expect(screenOnly.covered, 'both cuts at one point').toBe(whole.covered)
      const where = `seed ${seed}, cut ${i}`
      expect(whole.historyLeftOut, `${where}: a whole cut leaves nothing out`).toBeUndefined()
      const first = await apply(screenOnly, opts.scrollback)
      const full = await apply(whole, opts.scrollback)
      expect(first.history, `${where}: the screen-only cut carries no scrollback`).toBe(0)
      // It leaves out exactly the history there was, and says so (nothing to follow when none).
      expect(screenOnly.historyLeftOut ?? 0, `${where}: rows left out`).toBe(full.history)
      if (!screenOnly.historyLeftOut) expect(screenOnly.data, `${where}: with no history the cut is whole`).toBe(whole.data)
      else withHistory++
      if (full.state.normal.lines[full.state.normal.ybase]?.startsWith('W')) wrappedTop++
      expect(first.state, where).toEqual(onScreen(full.state))
    }
  }
  expect(crashed).toBeLessThan(Math.max(2, seeds.length / 10))
  // Not vacuous: most cuts had history to leave out, and some screens began with a wrapped row
  // (continuing one in the history: the stand-in row the screen-only cut writes above it).
  expect(withHistory).toBeGreaterThan(seeds.length)
  expect(wrappedTop).toBeGreaterThan(5)
}

describe('screen-only cut', () => {
  it(`gives the whole snapshot's screen, with no scrollback, on ${seeds.length} random streams`, { timeout: 180_000 }, () => property())
  it('does so with the scrollback kept compact', { timeout: 180_000 }, () => property(1))
})
