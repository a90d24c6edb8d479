/**
 * Frame validation details that the end-to-end tests do not reach (docs/protocol.md §2, §6).
 */
import { describe, expect, it } from 'vitest'
import { parseClientFrame } from '../../daemon/src/live/parse.js'

const parse = (frame: unknown) => parseClientFrame(Buffer.from(JSON.stringify(frame)), false)

describe('set_active', () => {
  it.each([
    ['cols alone', { type: 'set_active', ch: 1, active: true, cols: 80 }],
    ['rows alone', { type: 'set_active', ch: 1, active: true, rows: 24 }],
  ])('refuses half a size (%s) as invalid_frame', (_what, frame) => {
    expect(parse(frame)).toMatchObject({ ok: false, code: 'invalid_frame', ch: 1, message: expect.stringMatching(/cols and rows/) })
  })

  it.each([
    ['both', { type: 'set_active', ch: 1, active: true, cols: 80, rows: 24 }],
    ['neither', { type: 'set_active', ch: 1, active: false }],
  ])('accepts %s', (_what, frame) => {
    expect(parse(frame)).toEqual({ ok: true, frame })
  })
})
