import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { DEFAULT_GROUP, MAX_SYNC_MESSAGE_BYTES, placeTab, readLayout, setTitle } from '@tabula/protocol'
import { connectProvider, rawClient, startLocalSync, synced, WORKSPACE, type LocalSync } from './helpers.js'

const KEY = 'tab-99999999-8888-4777-8666-555555555555'

function syncMessage(step: number, payload: Uint8Array): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 0)
  encoding.writeVarUint(e, step)
  encoding.writeVarUint8Array(e, payload)
  return encoding.toUint8Array(e)
}

/** A real update that would add a tab, to mangle. */
function realUpdate(): Uint8Array {
  const doc = new Y.Doc()
  placeTab(doc, 'tab-12121212-3434-4565-8787-909090909090', DEFAULT_GROUP, null, null)
  setTitle(doc, 'tab-12121212-3434-4565-8787-909090909090', 'x'.repeat(50))
  return Y.encodeStateAsUpdate(doc)
}

describe('malformed and oversized messages', () => {
  let server: LocalSync
  let home: string
  const logLines: string[] = []
  let expected: unknown

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'tabula-malformed-'))
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(chunk.toString())
        done()
      },
    })
    server = await startLocalSync({ home, log: pino({ level: 'warn' }, sink) })
    const writer = connectProvider(server.url, WORKSPACE, server.token)
    await synced(writer)
    placeTab(writer.doc, KEY, DEFAULT_GROUP, null, null)
    setTitle(writer.doc, KEY, 'before the garbage')
    expected = readLayout(writer.doc).placements.get(KEY)
    const check = connectProvider(server.url, WORKSPACE, server.token)
    await synced(check)
    writer.destroy()
    check.destroy()
  })
  afterAll(async () => {
    await server?.stop()
    rmSync(home, { recursive: true, force: true })
  })

  const update = realUpdate()
  const truncatedUpdate = syncMessage(2, update.slice(0, update.length - 7))
  const cases: Array<[string, Uint8Array | string, number]> = [
    ['random garbage', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 1007],
    ['an unknown message type', new Uint8Array([7, 1, 2]), 1007],
    ['an unknown sync step', syncMessage(9, new Uint8Array([0])), 1007],
    ['a message cut in the middle', syncMessage(2, update).slice(0, 20), 1007],
    ['an update whose payload is truncated', truncatedUpdate, 1007],
    [
      'an update of random bytes',
      syncMessage(
        2,
        new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff),
      ),
      1007,
    ],
    ['a valid message with trailing bytes', new Uint8Array([...syncMessage(0, Y.encodeStateVector(new Y.Doc())), 1, 2, 3]), 1007],
    ['awareness with a state that is not JSON', new Uint8Array([1, 6, 1, 5, 1, 3, 0x7b, 0x7b, 0x7b]), 1007],
    ['a text frame', 'hello', 1003],
  ]

  it.each(cases)('%s closes that connection only', async (_name, data, code) => {
    const { ws, closed } = await rawClient(server.url, WORKSPACE, server.token)
    ws.send(data)
    expect((await closed).code).toBe(code)
    await expectServerAndDocumentFine()
  })

  it(`a message over ${MAX_SYNC_MESSAGE_BYTES} bytes is refused without being buffered whole`, async () => {
    const { ws, closed } = await rawClient(server.url, WORKSPACE, server.token)
    ws.send(syncMessage(2, new Uint8Array(MAX_SYNC_MESSAGE_BYTES + 1)))
    expect((await closed).code).toBe(1009)
    await expectServerAndDocumentFine()
  })

  it('every refusal was logged with its reason', () => {
    const reasons = logLines.map((l) => JSON.parse(l) as { reason?: string }).map((l) => l.reason ?? '')
    expect(reasons.some((r) => /unknown message type 7/.test(r))).toBe(true)
    expect(reasons.some((r) => /update does not decode/.test(r))).toBe(true)
    expect(reasons.some((r) => /text frames/.test(r))).toBe(true)
    expect(reasons.some((r) => /max|payload|length/i.test(r))).toBe(true)
  })

  it('the stored document is intact after a restart', async () => {
    await server.stop()
    server = await startLocalSync({ home })
    const reader = connectProvider(server.url, WORKSPACE, server.token)
    await synced(reader)
    expect(readLayout(reader.doc).placements.get(KEY)).toEqual(expected)
    expect(readLayout(reader.doc).placements.size).toBe(1) // nothing of the mangled update got in
    reader.destroy()
  })

  async function expectServerAndDocumentFine(): Promise<void> {
    const viewer = connectProvider(server.url, WORKSPACE, server.token)
    await synced(viewer)
    expect(readLayout(viewer.doc).placements.get(KEY)).toEqual(expected)
    expect(readLayout(viewer.doc).placements.size).toBe(1)
    viewer.destroy()
  }
})
