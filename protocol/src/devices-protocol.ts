/**
 * Pairing and device tokens as both sides see them (docs/daemon.md, "Devices"). Browser-safe:
 * the web viewer redeems a pairing code and reads its own scope with these names. The two routes
 * (PAIR_PATH, WHOAMI_PATH) are in the route table, routes.ts.
 */

/** `full`: everything the root token can do over HTTP and WebSocket. `watch`: attach, see tabs and presence, nothing else. */
export type DeviceScope = 'full' | 'watch'

/** Who a request is, once its token is checked. */
export type Principal = { kind: 'root'; scope: 'full' } | { kind: 'device'; name: string; scope: DeviceScope }

export interface PairResponse {
  token: string
  name: string
  scope: DeviceScope
}

/** A device name: 1 to 64 of letters, digits, ".", "_" and "-" (it is typed in `tabula devices revoke NAME`). */
export const DEVICE_NAME_RE = /^[A-Za-z0-9._-]{1,64}$/
/** A pairing code: 128 random bits, hex. */
export const PAIRING_CODE_RE = /^[0-9a-f]{32}$/
