/**
 * The device token store on real files: only hashes on disk, a code opens once and only in
 * time, revocation reaches another process's store (as `tabula devices revoke` reaches a running
 * server), scopes, bounds, and a broken file refused by name.
 */
import { until } from '../helpers/wait.js'
import { afterEach, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MAX_PENDING_PAIRINGS, PAIRING_TTL_MS } from '@tabula/protocol'
import { DeviceError, DeviceStore, DEVICES_FILE } from '@tabula/server-kit'

const homes: string[] = []
const newHome = () => {
  const home = mkdtempSync(join(tmpdir(), 'tabula-devices-'))
  homes.push(home)
  return home
}
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true })
})
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

describe('device store', () => {
  it('keeps only hashes of codes and tokens on disk, mode 0600, and shows each secret once', () => {
    const home = newHome()
    const store = new DeviceStore(home)
    const { code, name } = store.createPairing({ name: 'pocket', scope: 'full' })
    expect(name).toBe('pocket')
    const file = () => readFileSync(join(home, DEVICES_FILE), 'utf8')
    expect(file()).not.toContain(code)
    expect(file()).toContain(sha256(code))
    const { token } = store.redeem(code)
    expect(token).toMatch(/^tdev_[0-9a-f]{64}$/)
    expect(file()).not.toContain(token)
    expect(file()).toContain(sha256(token))
    expect(file()).not.toContain(sha256(code)) // the pairing is used up
    expect(statSync(join(home, DEVICES_FILE)).mode & 0o777).toBe(0o600)
    expect(store.verify(token)).toEqual({ kind: 'device', name: 'pocket', scope: 'full' })
  })

  it('opens a pairing code once, and not after it expired', () => {
    let now = 1_000_000
    const store = new DeviceStore(newHome(), { now: () => now })
    const first = store.createPairing({ scope: 'full' })
    store.redeem(first.code)
    expect(() => store.redeem(first.code)).toThrow(DeviceError)
    const late = store.createPairing({ scope: 'full' })
    now += PAIRING_TTL_MS + 1
    expect(() => store.redeem(late.code)).toThrow(/expired/)
    expect(() => store.redeem('not-a-code')).toThrow(DeviceError)
    expect(() => store.redeem('0'.repeat(32))).toThrow(DeviceError)
    // Expired links are not listed as pending.
    expect(store.list().pairings).toEqual([])
  })

  it('refuses tokens nobody issued, and a revoked device from then on', () => {
    const store = new DeviceStore(newHome())
    const { token } = store.redeem(store.createPairing({ name: 'a', scope: 'full' }).code)
    expect(store.verify('tdev_' + '0'.repeat(64))).toBeNull()
    expect(store.verify('')).toBeNull()
    expect(store.verify(token + 'x')).toBeNull()
    expect(store.revoke('a')).toBe(true)
    expect(store.verify(token)).toBeNull()
    expect(store.revoke('a')).toBe(false)
  })

  it("a revocation written by another process's store reaches a running one, with the names", async () => {
    const home = newHome()
    const server = new DeviceStore(home)
    const cli = new DeviceStore(home)
    const { token } = server.redeem(cli.createPairing({ name: 'phone', scope: 'watch' }).code)
    const revoked: string[][] = []
    server.onRevoked((names) => revoked.push(names))
    expect(cli.revoke('phone')).toBe(true)
    // The directory watch tells the server without any request; the stat on verify would too.
    await until('the server to hear of the revoke', () => revoked.length > 0)
    expect(revoked).toEqual([['phone']])
    expect(server.verify(token)).toBeNull()
    server.close()
  })

  it('keeps the scope each device was paired with', () => {
    const store = new DeviceStore(newHome())
    const watch = store.redeem(store.createPairing({ name: 'w', scope: 'watch' }).code)
    const full = store.redeem(store.createPairing({ name: 'f', scope: 'full' }).code)
    expect(watch.scope).toBe('watch')
    expect(store.verify(watch.token)).toEqual({ kind: 'device', name: 'w', scope: 'watch' })
    expect(store.verify(full.token)).toEqual({ kind: 'device', name: 'f', scope: 'full' })
    expect(store.list().devices.map((d) => [d.name, d.scope])).toEqual([
      ['w', 'watch'],
      ['f', 'full'],
    ])
  })

  it('names devices device-1, device-2 … and refuses a taken or malformed name', () => {
    const store = new DeviceStore(newHome())
    expect(store.createPairing({ scope: 'full' }).name).toBe('device-1')
    expect(store.createPairing({ scope: 'full' }).name).toBe('device-2')
    store.createPairing({ name: 'x', scope: 'full' })
    expect(() => store.createPairing({ name: 'x', scope: 'full' })).toThrow(/already exists/)
    for (const bad of ['', 'has space', 'a/b', 'x'.repeat(65)])
      expect(() => store.createPairing({ name: bad, scope: 'full' })).toThrow(/not a device name/)
  })

  it('bounds the pairing links waiting at once', () => {
    const store = new DeviceStore(newHome())
    for (let i = 0; i < MAX_PENDING_PAIRINGS; i++) store.createPairing({ scope: 'full' })
    expect(() => store.createPairing({ scope: 'full' })).toThrow(/waiting already/)
    expect(store.revoke('device-1')).toBe(true) // revoking a link not yet opened frees its place
    expect(() => store.createPairing({ scope: 'full' })).not.toThrow()
  })

  it('records when a device was last seen', () => {
    let now = 5_000_000
    const home = newHome()
    const store = new DeviceStore(home, { now: () => now })
    const { token } = store.redeem(store.createPairing({ name: 'p', scope: 'full' }).code)
    expect(store.list().devices[0]!.lastSeen).toBeNull()
    now += 1000
    store.verify(token)
    // Another process (the `tabula devices` command) reads it from disk.
    expect(new DeviceStore(home).list().devices[0]!.lastSeen).toBe(now)
  })

  it('refuses a broken devices file by name instead of guessing (nothing is let in)', () => {
    const home = newHome()
    writeFileSync(join(home, DEVICES_FILE), '{"version":1,"devices":[{"name":"x"}],"pairings":[]}')
    expect(() => new DeviceStore(home)).toThrow(new RegExp(`${DEVICES_FILE} is not a valid devices file`))
    writeFileSync(join(home, DEVICES_FILE), 'not json')
    expect(() => new DeviceStore(home)).toThrow(/not a valid devices file/)
  })
})
