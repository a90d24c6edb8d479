// The screen's parse in slices (daemon/src/screen/xterm-internals.ts, PARSE_SLICE_BYTES): xterm's
// decode buffer stays at its initial size however large the chunks, and a chunk parsed in slices
// gives the state a plain xterm fed it whole has, with characters of every UTF-8 length and
// zero-width ones straddling every slice boundary.
import { expect, it } from 'vitest'
import xtermHeadless from '@xterm/headless'
import { PARSE_SLICE_BYTES, sliceEnd, xtermInternals } from '../../daemon/src/screen/xterm-internals.js'
import { settle, terminalState } from './terminal-state.js'

const make = () => new xtermHeadless.Terminal({ cols: 80, rows: 24, scrollback: 200, allowProposedApi: true, logLevel: 'off' })
const parseBufferOf = (term: ReturnType<typeof make>) =>
  (term as unknown as { _core: { _inputHandler: { _parseBuffer: Uint32Array } } })._core._inputHandler._parseBuffer

/** Text whose characters of 1 to 4 bytes, combining marks and escape sequences fall on every offset. */
function mixed(bytes: number): Uint8Array {
  const parts = ['a', 'é', '€', '😀', 'e\u0301', '\x1b[31m', '中', '\x1b[0m', '\r\n', ' ']
  let text = ''
  for (let i = 0; Buffer.byteLength(text) < bytes; i++) text += parts[(i * 7 + (i >> 3)) % parts.length]
  return new TextEncoder().encode(text)
}

it('a slice never ends inside a UTF-8 character', () => {
  const data = mixed(5 * PARSE_SLICE_BYTES)
  for (let start = 0; start < data.length; ) {
    const end = sliceEnd(data, start)
    expect(end - start).toBeGreaterThan(0)
    expect(end - start).toBeLessThanOrEqual(PARSE_SLICE_BYTES)
    if (end < data.length) expect(data[end]! & 0xc0).not.toBe(0x80)
    start = end
  }
})

it("keeps xterm's decode buffer at its initial size, and the state is a whole parse's", async () => {
  const data = mixed(128 * 1024 + 7)
  const sliced = make()
  const internals = xtermInternals(sliced)!
  const initial = parseBufferOf(sliced).length
  internals.parse(data)
  expect(parseBufferOf(sliced).length).toBe(initial)

  const whole = make()
  await new Promise<void>((resolve) => whole.write(data, resolve))
  await settle(sliced)
  // The oracle's own buffer grew to the chunk (what the slices avoid).
  expect(parseBufferOf(whole).length).toBeGreaterThan(initial)
  expect(terminalState(sliced)).toEqual(terminalState(whole))
})
