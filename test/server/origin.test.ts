/**
 * Which addresses the server prints and which origins it calls its own, for a given set of
 * interfaces (the shape os.networkInterfaces() returns): never 0.0.0.0, no link-local IPv6, the
 * public names first, loopback names only when loopback is listened on.
 */
import { describe, expect, it } from 'vitest'
import type { networkInterfaces } from 'node:os'
import { listenUrls, localUrl, ownOrigins } from '@tabula/server-kit'

type Interfaces = ReturnType<typeof networkInterfaces>
const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false) =>
  ({
    address,
    family,
    internal,
    netmask: '',
    mac: '',
    cidr: null,
    ...(family === 'IPv6' ? { scopeid: 0 } : {}),
  }) as Interfaces[string] extends (infer T)[] | undefined ? T : never

const interfaces: Interfaces = {
  lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
  eth0: [iface('192.168.1.20', 'IPv4'), iface('fe80::1', 'IPv6'), iface('2001:db8::20', 'IPv6')],
  tailscale0: [iface('100.101.102.103', 'IPv4')],
}

describe('listen addresses and own origins', () => {
  it('a wildcard lists every real interface address, then loopback, and never 0.0.0.0', () => {
    expect(listenUrls({ host: '0.0.0.0', port: 7770, scheme: 'http' }, interfaces)).toEqual([
      'http://192.168.1.20:7770',
      'http://100.101.102.103:7770',
      'http://127.0.0.1:7770',
    ])
    // `::` is dual-stack: IPv6 too, bracketed, without the link-local one a URL cannot carry.
    expect(listenUrls({ host: '::', port: 1, scheme: 'https' }, interfaces)).toEqual([
      'https://192.168.1.20:1',
      'https://[2001:db8::20]:1',
      'https://100.101.102.103:1',
      'https://127.0.0.1:1',
    ])
  })

  it('public names come first, and one address stands alone', () => {
    expect(listenUrls({ host: '192.168.1.20', port: 9, scheme: 'https', publicHosts: ['box.ts.net'] }, interfaces)).toEqual([
      'https://box.ts.net:9',
      'https://192.168.1.20:9',
    ])
    expect(localUrl('192.168.1.20', 9, 'https')).toBe('https://192.168.1.20:9')
    expect(localUrl('0.0.0.0', 9)).toBe('http://127.0.0.1:9')
    expect(localUrl('::1', 9)).toBe('http://[::1]:9')
  })

  it('own origins: every printed one, plus every loopback name when loopback is listened on', () => {
    const wildcard = ownOrigins({ host: '0.0.0.0', port: 5, scheme: 'http', publicHosts: ['tabula.test'] }, interfaces)
    expect(wildcard).toEqual(
      expect.arrayContaining([
        'http://tabula.test:5',
        'http://192.168.1.20:5',
        'http://100.101.102.103:5',
        'http://localhost:5',
        'http://[::1]:5',
      ]),
    )
    expect(wildcard.some((o) => o.includes('0.0.0.0'))).toBe(false)
    const lanOnly = ownOrigins({ host: '192.168.1.20', port: 5, scheme: 'http' }, interfaces)
    expect(lanOnly).toEqual(['http://192.168.1.20:5'])
    expect(ownOrigins({ host: '127.0.0.1', port: 5, scheme: 'https' }, interfaces)).toEqual([
      'https://127.0.0.1:5',
      'https://localhost:5',
      'https://[::1]:5',
    ])
  })
})
