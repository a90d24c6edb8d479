/**
 * Output chunks end on UTF-8 character boundaries (so a snapshot cut never splits a character),
 * and a chunk's frame is built once per channel.
 */
import { describe, expect, it } from 'vitest'
import { decodeOutputFrame } from '@tabula/protocol'
import { incompleteUtf8Tail } from '../../daemon/src/live/mirror.js'
import { OutputChunk } from '../../daemon/src/live/output.js'

const bytes = (...b: number[]) => Uint8Array.from(b)

describe('incompleteUtf8Tail', () => {
  it('finds the start of a character still missing bytes, and nothing else', () => {
    expect(incompleteUtf8Tail([])).toBe(0)
    expect(incompleteUtf8Tail([Buffer.from('abc')])).toBe(0)
    expect(incompleteUtf8Tail([Buffer.from('aé')])).toBe(0)
    expect(incompleteUtf8Tail([Buffer.from('a😀')])).toBe(0)
    expect(incompleteUtf8Tail([bytes(0x61, 0xc3)])).toBe(1)
    expect(incompleteUtf8Tail([bytes(0x61, 0xe2, 0x82)])).toBe(2)
    expect(incompleteUtf8Tail([bytes(0x61, 0xf0, 0x9f, 0x98)])).toBe(3)
    // Stray continuation bytes wait for nothing.
    expect(incompleteUtf8Tail([bytes(0x61, 0x80, 0x80, 0x80)])).toBe(0)
  })
})

describe('OutputChunk', () => {
  it('copies the first bytes of its chunks once and shares one frame per channel', () => {
    const chunk = new OutputChunk([Buffer.from('hello '), Buffer.from('world!')], 11)
    expect(Buffer.from(chunk.bytes).toString()).toBe('hello world')
    const one = chunk.frame(1)
    expect(chunk.frame(1)).toBe(one)
    expect(decodeOutputFrame(one)).toEqual({ ch: 1, data: Buffer.from('hello world') })
    const seven = chunk.frame(7)
    expect(decodeOutputFrame(seven)?.ch).toBe(7)
    expect(decodeOutputFrame(chunk.frame(1))?.ch).toBe(1)
  })
})
