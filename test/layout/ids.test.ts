/**
 * Ids made where browsers hide `crypto.randomUUID` (any page that is not a secure context, such
 * as a phone on plain http at a LAN address): tab keys and split-node ids still come out as
 * RFC 4122 version 4 uuids, all different.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { initLayout, isUuid, kindOfKey, newTabKey, randomUuid, readLayout, splitGroup } from '@tabula/protocol'

afterEach(() => vi.unstubAllGlobals())

describe('ids without crypto.randomUUID', () => {
  it('makes version 4 uuids, tab keys and split ids with only getRandomValues', () => {
    const { getRandomValues } = globalThis.crypto
    vi.stubGlobal('crypto', { getRandomValues: getRandomValues.bind(globalThis.crypto) })
    expect(globalThis.crypto.randomUUID).toBeUndefined()
    const ids = Array.from({ length: 1000 }, () => randomUuid())
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(isUuid(id)).toBe(true)
    }
    expect(new Set(ids).size).toBe(ids.length)
    expect(kindOfKey(newTabKey())).toBe('terminal')
    const doc = new Y.Doc()
    initLayout(doc)
    const added = splitGroup(doc, readLayout(doc).groups[0]!, 'row')
    expect(isUuid(added)).toBe(true)
    expect(readLayout(doc).groups).toHaveLength(2)
  })
})
