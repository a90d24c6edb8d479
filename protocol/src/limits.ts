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
 * Longest control sequence (CSI) the daemon passes on, in bytes of parameters and intermediates.
 * xterm reads at most 32 parameters of at most 10 digits, so a longer sequence has nothing more
 * to say; it is dropped whole rather than held without bound (daemon/src/live/clamp.ts).
 */
export const MAX_CONTROL_SEQUENCE_BYTES = 512

/**
 * Longest title kept or shown, in UTF-16 code units: a program's own (OSC 0/2) and a custom one
 * from the layout. Longer ones are cut here, never kept whole: a 5 MB title was broadcast to
 * every watcher and written to the state file.
 */
export const MAX_TITLE_CHARS = 256

/** `title` cut to MAX_TITLE_CHARS, never inside a surrogate pair. */
export function clampTitle(title: string): string {
  if (title.length <= MAX_TITLE_CHARS) return title
  const cut = title.slice(0, MAX_TITLE_CHARS)
  const last = cut.charCodeAt(cut.length - 1)
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut
}
