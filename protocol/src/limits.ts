/**
 * Size bounds shared by servers and clients. Named here so both sides agree on what is
 * "too large" and the docs can cite one place.
 */

/** Largest HTTP request body the daemon reads (a spawn request with a big env fits easily). */
export const MAX_HTTP_BODY_BYTES = 64 * 1024

/** Largest live-channel frame a viewer may send (input pastes are chunked by the SDK below this). */
export const MAX_LIVE_FRAME_BYTES = 1024 * 1024

/** Largest y-websocket message the sync server accepts from a client. */
export const MAX_SYNC_MESSAGE_BYTES = 8 * 1024 * 1024

/** Terminal size bounds accepted from viewers and spawn requests. */
export const MIN_COLS = 2
export const MAX_COLS = 1000
export const MIN_ROWS = 1
export const MAX_ROWS = 500
export const DEFAULT_COLS = 80
export const DEFAULT_ROWS = 24

/**
 * Disk kept for sessions' saved screens (`<home>/screens/`, docs/daemon.md "Restore"): at most
 * this much per session, and this much for all of them together (each session then gets an
 * equal share). A screen larger than its share loses its oldest scrollback lines.
 */
export const MAX_SAVED_SCREEN_BYTES = 2 * 1024 * 1024
export const MAX_SAVED_SCREENS_TOTAL_BYTES = 64 * 1024 * 1024

/** Devices paired at once (docs/daemon.md, "Devices"). Past it `tabula pair` refuses until one is revoked. */
export const MAX_DEVICES = 100

/** Pairing links waiting to be opened at once; the oldest cannot be crowded out by a loop, it is refused. */
export const MAX_PENDING_PAIRINGS = 20

/** How long a pairing link can be opened: long enough to find the phone, short enough that a photo of the QR code goes stale. */
export const PAIRING_TTL_MS = 10 * 60_000

/** Largest body of a pairing request (`{"code": "…"}` is under 100 bytes). */
export const MAX_PAIR_BODY_BYTES = 1024
