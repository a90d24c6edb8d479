/**
 * A version 4 (random) uuid, lowercase, from `crypto.getRandomValues`. Not `crypto.randomUUID`:
 * browsers offer that only in a secure context (https or localhost), and a phone that reaches
 * tabula at a LAN address over plain http is not one (docs/viewers.md, "Use it from your phone").
 * `getRandomValues` exists in every context, in browsers and in Node.
 */
export function randomUuid(): string {
  const bytes = new Uint8Array(16)
  globalThis.crypto.getRandomValues(bytes)
  bytes[6] = (bytes[6]! & 0x0f) | 0x40 // version 4
  bytes[8] = (bytes[8]! & 0x3f) | 0x80 // RFC 4122 variant
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
