/**
 * The compact scrollback (daemon/src/screen/compact.ts): rows that leave xterm's small buffer are
 * kept as the text that writes them, and the screen must still be the one plain xterm with the
 * whole scrollback has, fed the same bytes and resizes (the oracle, read whole by
 * terminal-state.ts). Each case here is one thing compaction must get right: reflow at another
 * width, a logical line that straddles the stored rows and xterm's, clear-scrollback, the
 * scrollback limit, the alternate screen, a screen rebuilt from its own snapshot (how the worker
 * pool restores a checkpoint), and the memory it saves.
 */
import { describe, expect, it } from 'vitest'
import xtermHeadless from '@xterm/headless'
import { HeadlessScreen, type Snapshot } from '../../daemon/src/screen/screen.js'
import { applied, plainXtermAt, terminalState, type Step } from './terminal-state.js'

const enc = new TextEncoder()
type Opts = { cols: number; rows: number; scrollback: number }

/** Steps through the daemon's screen (with `tail` rows of xterm scrollback) and through plain xterm; their states at every cut. */
async function both(opts: Opts, steps: Step[], tail?: number) {
  const screen = new HeadlessScreen({ ...opts, compactTail: tail }, () => {})
  const cuts: Promise<{ snapshot: Snapshot; stored: number }>[] = []
  for (const step of steps) {
    if (step.op === 'write') screen.write(step.data, () => {})
    else if (step.op === 'resize') screen.resize(step.cols, step.rows)
    else cuts.push(new Promise((resolve) => screen.cut((snapshot) => resolve({ snapshot, stored: screen.storedRows }))))
  }
  const got = await Promise.all(cuts)
  screen.dispose()
  const expected = await plainXtermAt(
    opts,
    steps,
    got.map((cut) => cut.snapshot.covered ?? 0),
    terminalState,
  )
  const states = await Promise.all(got.map((cut) => applied(cut.snapshot, opts.scrollback)))
  return { states, expected, stored: got.map((cut) => cut.stored), snapshots: got.map((cut) => cut.snapshot) }
}

const write = (text: string): Step => ({ op: 'write', data: enc.encode(text) })
const cut: Step = { op: 'cut' }

/** Coloured lines of every length, some wrapping several times, with wide characters. */
function history(lines: number, cols: number): string {
  let out = ''
  for (let i = 0; i < lines; i++) {
    const body = `line ${i} ` + 'abc漢字 '.repeat(i % 7) + 'x'.repeat((i * 13) % (cols * 3))
    out += `\x1b[3${i % 8}m${body}\x1b[0m` + (i % 5 === 0 ? ` \x1b[44mblue\x1b[m` : '') + '\r\n'
  }
  return out
}

describe('compact scrollback', () => {
  it('keeps the rows that scrolled out compact and writes them back exactly', async () => {
    const opts = { cols: 30, rows: 8, scrollback: 300 }
    const { states, expected, stored } = await both(opts, [write(history(200, 30)), cut])
    expect(stored[0]).toBeGreaterThan(200)
    expect(states).toEqual(expected)
  })

  it('reflows the stored rows at another width as plain xterm does, narrower and wider', async () => {
    const opts = { cols: 30, rows: 8, scrollback: 300 }
    const steps: Step[] = [
      write(history(150, 30)),
      { op: 'resize', cols: 17, rows: 6 },
      cut,
      write(history(20, 17)),
      { op: 'resize', cols: 53, rows: 12 },
      cut,
      { op: 'resize', cols: 53, rows: 30 }, // taller than the tail: rows come back from the stored ones
      cut,
      write('after\r\n'),
      cut,
    ]
    const { states, expected, stored } = await both(opts, steps, 4)
    expect(stored.every((n) => n > 0)).toBe(true)
    expect(states).toEqual(expected)
  })

  it('keeps a logical line that straddles the stored rows and xterm’s whole, through a resize', async () => {
    const opts = { cols: 20, rows: 5, scrollback: 100 }
    // One logical line of 9 rows (wide characters at the wraps), then just enough lines to push
    // its first rows out of xterm's buffer (tail 2) and leave the rest in it.
    const long = 'start' + '漢'.repeat(40) + 'ｗ'.repeat(21) + 'end'
    const steps: Step[] = [
      write('top\r\n' + long + '\r\n'),
      write('a\r\nb\r\nc\r\n'),
      cut,
      { op: 'resize', cols: 13, rows: 5 },
      cut,
      { op: 'resize', cols: 31, rows: 6 },
      cut,
    ]
    const { states, expected, stored } = await both(opts, steps, 2)
    expect(stored[0]).toBeGreaterThan(0)
    expect(stored[0]).toBeLessThan(9)
    expect(states).toEqual(expected)
  })

  it('clears the stored rows on clear-scrollback (ED 3) and on a full reset', async () => {
    const opts = { cols: 25, rows: 6, scrollback: 200 }
    const steps: Step[] = [write(history(80, 25)), cut, write('\x1b[3J'), cut, write(history(40, 25) + '\x1bc' + 'fresh'), cut]
    const { states, expected, stored } = await both(opts, steps, 3)
    expect(stored).toEqual([expect.any(Number), 0, 0])
    expect(stored[0]).toBeGreaterThan(0)
    expect(states).toEqual(expected)
  })

  it('keeps to the scrollback limit, where the oldest row may continue a line trimmed away', async () => {
    const opts = { cols: 16, rows: 4, scrollback: 40 }
    const steps: Step[] = []
    for (let i = 0; i < 30; i++) steps.push(write(history(7, 16)), cut)
    const { states, expected, stored } = await both(opts, steps, 2)
    // rows + scrollback in all: xterm keeps rows + 2 of them.
    expect(Math.max(...stored)).toBe(40 - 2)
    expect(states).toEqual(expected)
  })

  it('keeps the normal screen’s stored rows while the alternate screen is shown, and resized', async () => {
    const opts = { cols: 24, rows: 6, scrollback: 100 }
    const steps: Step[] = [
      write(history(60, 24) + '\x1b7\x1b[?1049h\x1b[2J\x1b[Hfull-screen app'),
      cut,
      { op: 'resize', cols: 15, rows: 7 },
      cut,
      write('\x1b[?1049l\x1b8back'),
      cut,
    ]
    const { states, expected } = await both(opts, steps, 3)
    expect(states).toEqual(expected)
  })

  it('fills the rows DECALN wraps round to past the buffer’s end as the deeper buffer does (origin mode in a scroll region)', async () => {
    // DECALN fills `rows` rows from the home row; with origin mode that is the scroll region's top,
    // so the last rows fall past the buffer's end, and xterm's ring of rows takes them as its
    // first ones: the oldest rows of the whole scrollback (stored ones here), not of xterm's part.
    const opts = { cols: 10, rows: 4, scrollback: 6 }
    // The first line moves a wide character into its second row (which starts inside it).
    const full = `${'x'.repeat(9)}\x1b[4m漢\x1b[my\r\n` + Array.from({ length: 7 }, (_, i) => `line ${i}\r\n`).join('')
    const steps: Step[] = [
      write(full + '\x1b[31m\x1b[2;4r\x1b[?6h\x1b#8'),
      cut,
      write('\x1b[?6l\x1b[r\x1b[3;4r\x1b[?6h\x1b#8'),
      cut,
      // Not full: past xterm's short ring (screen + tail) it wraps round, past the deeper one's not.
      write('\x1bc\x1b[3J' + 'a\r\nb\r\nc\r\nd\r\ne\r\nf' + '\x1b[3;4r\x1b[?6h\x1b#8'),
      cut,
    ]
    const { states, expected, stored } = await both(opts, steps, 1)
    expect(stored[0]).toBeGreaterThan(0)
    expect(states).toEqual(expected)
  })

  it('fills what the deeper buffer’s ring holds past its end after a reflow, on DECALN there', async () => {
    // A reflow that joins rows deletes them by shifting the rows below down: the ring's slots past
    // the new end still hold rows of the buffer, and DECALN past the end (origin mode in a scroll
    // region) fills those, in a ring that is not full.
    const opts = { cols: 10, rows: 4, scrollback: 20 }
    const lines = Array.from({ length: 5 }, (_, i) => `line ${i} `.padEnd(15, String(i))).join('\r\n')
    const steps: Step[] = [
      write(lines),
      { op: 'resize', cols: 20, rows: 4 },
      // Rows 4 to 7 from the region's top (row 2 of the screen): rows 6 and 7 are past the end.
      write('\x1b[31m\x1b[3;4r\x1b[?6h\x1b#8'),
      cut,
    ]
    const { states, expected, stored } = await both(opts, steps, 1)
    expect(stored[0]).toBeGreaterThan(0)
    expect(states).toEqual(expected)
  })

  it('keeps a hyperlink on stored rows alive through a resize as long as xterm would (by the rows it was printed on)', async () => {
    // xterm forgets a link once every row it was printed on has left the buffer. A resize rebuilds
    // the stored rows' cells from their text, which names the link by its address only: the cells
    // must get xterm's link back (not a new one tied to one row), or they lose it when that row goes.
    const opts = { cols: 10, rows: 3, scrollback: 20 }
    const lines = (n: number, from: number) => Array.from({ length: n }, (_, i) => `l${from + i}\r\n`).join('')
    const steps: Step[] = [
      write(`top\r\n\x1b]8;;https://a.example/\x1b\\${'L'.repeat(35)}\x1b]8;;\x1b\\\r\n` + lines(6, 0)),
      { op: 'resize', cols: 12, rows: 3 },
      cut,
      // The oldest rows leave at the limit, the link's first row among them; its last rows stay.
      write(lines(15, 6)),
      cut,
      { op: 'resize', cols: 9, rows: 4 },
      write(lines(2, 21)),
      cut,
    ]
    const { states, expected, stored } = await both(opts, steps, 1)
    expect(stored.every((n) => n > 0)).toBe(true)
    expect(JSON.stringify(expected[1])).toContain('https://a.example/')
    expect(states).toEqual(expected)
  })

  it('takes the right row off the wrap on ED 1 in the last column, a stored row or xterm’s first, whatever the row above wrote into it', async () => {
    // xterm 6 unwraps row y + 1 counted from the top of the whole buffer (docs/daemon.md): with
    // the scrollback compact that row is a stored one, or xterm's first row below the stored ones.
    const opts = { cols: 8, rows: 4, scrollback: 30 }
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `l${i}\r\n`).join('')
    // Row 2 holds the underlined wide character row 1 could not fit (xterm blanked row 1's last
    // column in its pen and moved it); then rows 1 and 2 of the whole buffer are unwrapped.
    const wide = `top\r\n${'x'.repeat(7)}\x1b[4m漢\x1b[my\r\n`
    // Row 1 ends in blanks and still wraps into row 2.
    const blanks = `top\r\n${'x'.repeat(8)}y\x1b[A\x1b[5G\x1b[K\x1b[B\r\n`
    const cases: [string, number][] = [
      [wide + lines(8), 0], // row 2 stored (the row it continues stored too)
      [wide + lines(3), 2], // row 2 is xterm's first, after two stored rows
      [blanks + lines(3), 2],
      [blanks + lines(8), 0],
    ]
    for (const [stream, storedRows] of cases) {
      const steps: Step[] = [write(stream + '\x1b[2;8H\x1b[1J'), cut, write('after\r\n'), { op: 'resize', cols: 6, rows: 5 }, cut]
      const { states, expected, stored } = await both(opts, steps, 1)
      if (storedRows) expect(stored[0]).toBe(storedRows)
      else expect(stored[0]).toBeGreaterThan(3)
      expect(states).toEqual(expected)
    }
  })

  it('stores a wrapped row that starts with a zero-width character alone so that it still wraps', async () => {
    // The zero-width space at the start of row 1 (xterm gives it a cell of its own there): printed
    // in the pending wrap of row 0, it would join row 0's last cell, and the row be lost.
    const opts = { cols: 5, rows: 4, scrollback: 10 }
    const steps: Step[] = [write('abcdefgh\x1b[2;1H\u200bZ\x1b[4;1H\r\n\r\n\r\n\r\n'), cut, { op: 'resize', cols: 6, rows: 4 }, cut]
    const { states, expected, stored } = await both(opts, steps, 1)
    expect(stored[0]).toBeGreaterThan(1)
    expect(states).toEqual(expected)
  })

  it("keeps the combined strings a plain character left behind, which xterm's reflow copies over others", async () => {
    // Row 1 held a combined character in its first cell, then a plain one: xterm keeps the old
    // string. Narrowing shifts the row right by one in place, and xterm copies each string to the
    // next cell in turn, so the combined cell after it shows the old string (docs/daemon.md,
    // "Compact scrollback", resize). A row stored as text has no such string unless it is kept.
    const opts = { cols: 5, rows: 2, scrollback: 20 }
    const steps: Step[] = [write('abcdea\u0301\rme\u0301\r\nx\r\ny\r\nz\r\nw'), { op: 'resize', cols: 4, rows: 2 }, cut]
    const { states, expected, stored } = await both(opts, steps, 1)
    expect(stored[0]).toBeGreaterThan(1)
    expect(JSON.stringify(expected[0])).toContain('\\"m\\"/1/0/0/0/null \\"a\u0301\\"') // xterm's own reflow, not the printed é
    expect(states).toEqual(expected)
  })

  it('brings back a wide character a resize left in the last column of a stored row on the next widening', async () => {
    // Narrowing by one leaves 漢 in the last column (no print can put it there, so the row's
    // text has the blank it covers); widening again shows it, in plain xterm and here.
    const opts = { cols: 20, rows: 3, scrollback: 20 }
    const steps: Step[] = [
      // The cursor's row is not reflowed: narrowed with the cursor on it, the row keeps 漢.
      write(`${'a'.repeat(18)}\x1b[31m漢\x1b[m`),
      { op: 'resize', cols: 19, rows: 3 },
      write('\r\nnext\r\nx\r\ny\r\nz'),
      cut,
      { op: 'resize', cols: 20, rows: 3 },
      cut,
    ]
    const { states, expected, stored } = await both(opts, steps, 1)
    expect(stored[1]).toBeGreaterThan(0)
    expect(JSON.stringify(expected[1])).toContain('漢')
    expect(states).toEqual(expected)
  })

  it('narrows a full buffer whose top line wraps as plain xterm does after clear-scrollback moved its ring', async () => {
    // Narrowing pushes rows of the wrapped top line past the top; xterm writes them at index -1,
    // which its ring of rows takes as its last row's slot when the ring does not start at slot 0
    // (docs/daemon.md, "Compact scrollback", _Resize_). Here no row was ever trimmed by a
    // scroll: clear-scrollback alone moved the ring's start (by all but the screen's rows).
    const opts = { cols: 20, rows: 5, scrollback: 34 }
    const fill = Array.from({ length: 38 }, (_, i) => `f${i}`).join('\r\n') + '\r\n'
    const long = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.repeat(4).slice(0, 100)
    const refill = [long, ...Array.from({ length: 31 }, (_, i) => `L${i + 1}`), 'abcdefghijklmnopqrstuvwxyzabcd']
    const steps: Step[] = [
      write(fill),
      write('\x1b[3J\x1b[H'),
      write(refill.join('\r\n') + '\r\n'),
      { op: 'resize', cols: 10, rows: 5 },
      cut,
    ]
    const { states, expected, stored } = await both(opts, steps)
    expect(stored[0]).toBeGreaterThan(0)
    // Plain xterm's last row (the cursor's) holds a piece of the top line.
    const last = (expected[0] as unknown as { normal: { lines: string[] } }).normal.lines.at(-1)
    expect(last).toMatch(/^W "Y".*"H"/)
    expect(states).toEqual(expected)
  })

  it('keeps the hyperlink of a wide character the trimmed row above moved into the oldest stored row', async () => {
    // The oldest row continues a row trimmed away: the snapshot writes a stand-in row above it,
    // then removes it. The wide character printed from the stand-in's last column wraps into the
    // row, but xterm ties its link to the stand-in, and forgets it with the stand-in.
    const opts = { cols: 8, rows: 3, scrollback: 6 }
    const lines = Array.from({ length: 8 }, (_, i) => `\r\nl${i}`).join('')
    const steps: Step[] = [write(`top\r\n\x1b]8;;https://a.example/\x1b\\${'x'.repeat(7)}漢end\x1b]8;;\x1b\\` + lines), cut]
    const { states, expected, stored } = await both(opts, steps, 1)
    expect(stored[0]).toBeGreaterThan(0)
    expect(expected[0]!.normal.lines[0]).toContain('"漢"/2/0/0/0/;https://a.example/')
    expect(states).toEqual(expected)
  })

  it('rebuilds the same screen from its own snapshot (a checkpoint restored in a fresh screen)', async () => {
    const opts = { cols: 30, rows: 8, scrollback: 300 }
    const { snapshots, states } = await both(opts, [write(history(150, 30)), cut], 4)
    const restored = new HeadlessScreen({ ...opts, cols: snapshots[0]!.cols, rows: snapshots[0]!.rows, compactTail: 4 }, () => {})
    restored.write(enc.encode(snapshots[0]!.data), () => {})
    const again = await new Promise<Snapshot>((resolve) => restored.cut(resolve))
    expect(restored.storedRows).toBeGreaterThan(100)
    restored.dispose()
    expect(await applied(again, opts.scrollback)).toEqual(states[0])
  })

  it('holds a deep scrollback outside xterm: its buffer stays at the screen plus the tail', async () => {
    const opts = { cols: 200, rows: 50, scrollback: 5000 }
    const screen = new HeadlessScreen(opts, () => {})
    const line = 'the quick brown fox jumps over the lazy dog '.repeat(5).slice(0, 196)
    screen.write(enc.encode(`${line}\r\n`.repeat(5049)), () => {})
    const snapshot = await new Promise<Snapshot>((resolve) => screen.cut(resolve))
    const xtermRows = (screen as unknown as { term: { buffer: { normal: { length: number } } } }).term.buffer.normal.length
    expect(screen.storedRows + xtermRows).toBe(5050)
    expect(xtermRows).toBeLessThanOrEqual(50 + 32)
    screen.dispose()
    // The snapshot is about the text's size (a few bytes a row besides the text itself).
    expect(snapshot.data.length).toBeLessThan(5050 * (196 + 8))
    const late = new xtermHeadless.Terminal({ cols: 200, rows: 50, scrollback: 5000, allowProposedApi: true, logLevel: 'off' })
    await new Promise<void>((resolve) => late.write('\x1bc' + snapshot.data, resolve))
    expect(late.buffer.normal.length).toBe(5050)
    expect(late.buffer.normal.getLine(0)!.translateToString(true)).toBe(line)
    late.dispose()
  })
})
