// A checkpoint refers to the stored rows instead of copying them (history.ts `share`, screen.ts
// `cutShared`; docs/daemon.md, "Memory per session"): put back together it is the snapshot a
// plain cut gives at the same point, its bytes are shared memory, and nothing written later
// (rows stored, dropped, unwrapped, rebuilt by a resize, cleared) changes what it says.
import { expect, it } from 'vitest'
import { HeadlessScreen, type SharedSnapshot, type Snapshot } from '../../daemon/src/screen/screen.js'
import { withSharedRows } from '../../daemon/src/screen/history.js'

const encoder = new TextEncoder()

function screen(scrollback = 400) {
  const s = new HeadlessScreen({ cols: 40, rows: 10, scrollback, compactTail: 4 }, () => {})
  return {
    write: (text: string) => s.write(encoder.encode(text), () => {}),
    cut: () => new Promise<Snapshot>((resolve) => s.cut(resolve)),
    shared: () => new Promise<SharedSnapshot>((resolve) => s.cutShared(resolve)),
    resize: (cols: number, rows: number) => s.resize(cols, rows),
    get stored() {
      return s.storedRows
    },
  }
}

/** Lines of every kind a stored row has: colours, wrapped rows, wide characters, hyperlinks, blanks. */
function lines(from: number, count: number): string {
  const out: string[] = []
  for (let i = from; i < from + count; i++) {
    if (i % 7 === 0) out.push(`\x1b[3${i % 8};4${(i + 3) % 8}mcoloured ${i}\x1b[0m and plain\r\n`)
    else if (i % 7 === 1) out.push(`${'wrapped '.repeat(9)}${i}\r\n`)
    else if (i % 7 === 2) out.push(`wide 漢字テスト ${i} ${'界'.repeat(25)}\r\n`)
    else if (i % 7 === 3) out.push(`\x1b]8;;https://example.com/${i}\x1b\\link ${i}\x1b]8;;\x1b\\ after\r\n`)
    else if (i % 7 === 4) out.push('\r\n')
    else out.push(`line ${i} \x1b[1mbold\x1b[22m \x1b[4:3mcurly\x1b[24m\r\n`)
  }
  return out.join('')
}

it('a shared cut, put back together, is the plain cut at the same point; its rows are shared memory', async () => {
  const s = screen()
  s.write(lines(0, 300))
  const [plain, shared] = [await s.cut(), await s.shared()]
  expect(s.stored).toBeGreaterThan(200)
  expect(shared.stored).not.toBeNull()
  expect(shared.data.length).toBeLessThan(plain.data.length / 5) // the screen and tail only
  expect(withSharedRows(shared.data, shared.stored)).toBe(plain.data)
  const bytes = shared.stored!.pieces.filter((piece): piece is Uint8Array => typeof piece !== 'string')
  expect(bytes.length).toBeGreaterThan(0)
  for (const piece of bytes) expect(piece.buffer).toBeInstanceOf(SharedArrayBuffer)
})

it('nothing written after a shared cut changes it: an unwrap, more rows, dropped rows, a resize, a clear', async () => {
  const s = screen(120)
  // Every stored row but the first few alternates: a line, and the row it wraps into.
  s.write(lines(0, 10) + `${'wrapped '.repeat(9)}\r\n`.repeat(80))
  const [plain, shared] = [await s.cut(), await s.shared()]
  const says = () => withSharedRows(shared.data, shared.stored)
  expect(says()).toBe(plain.data)
  // ED 1 in the last column takes the stored row below the cursor's (counted from the oldest)
  // off its wrap (compact.ts): one of these four rows wraps.
  for (let y = 1; y <= 4; y++) s.write(`\x1b[${y};40H\x1b[1J`)
  expect((await s.cut()).data).not.toBe(plain.data)
  expect(says()).toBe(plain.data)
  s.write(lines(150, 30)) // rows stored into the last chunk's free space, the oldest dropped
  expect(says()).toBe(plain.data)
  s.resize(31, 12) // the stored rows rebuilt and stored again at the new width
  s.write(lines(260, 40))
  expect(says()).toBe(plain.data)
  s.write('\x1b[3J') // clear-scrollback drops every stored row
  expect(says()).toBe(plain.data)
})

it('a screen with no stored rows: the shared cut is the plain one', async () => {
  const s = screen()
  s.write('a few lines\r\nof output\r\n')
  const [plain, shared] = [await s.cut(), await s.shared()]
  expect(shared.stored).toBeNull()
  expect(shared.data).toBe(plain.data)
})
