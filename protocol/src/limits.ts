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
 * to say; it is dropped whole rather than held without bound (daemon/src/screen/clamp.ts).
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

/**
 * Input waiting for a program that does not read it, per session. Past this, input frames are
 * refused with an `input_queue_full` error frame instead of queued: 400 MB sent to a program that
 * never read stdin once cost the daemon 468 MB. 1 MiB is far more than any paste a program is
 * still digesting.
 */
export const MAX_QUEUED_INPUT_BYTES = 1024 * 1024

/**
 * Input reaches a PTY at most this fast past a burst of INPUT_BURST_BYTES (the daemon's input
 * pacer; what waits counts in MAX_QUEUED_INPUT_BYTES). A terminal in line-editing mode takes,
 * echoes and throws away whatever a program does not read, costing kernel time per byte, so
 * unpaced input to such a session could take a core from every other session. Keys, escape
 * replies and pastes up to the burst are not delayed; a larger paste runs at 128 KiB/s (VS
 * Code's terminal writes pastes 50 characters every 5 ms, about 10 KB/s). docs/daemon.md
 * "Hostile output".
 */
export const INPUT_RATE_BYTES_PER_SEC = 128 * 1024
export const INPUT_BURST_BYTES = 256 * 1024

/**
 * V8's old-generation limit of each screen worker thread of the daemon, in MiB. Below it V8
 * collects garbage sooner: with no limit a worker's heap grew to 200–380 MiB under eight floods
 * (bench/soak.bench.mjs), most of it garbage of parsing and snapshot cuts (a full collection
 * every 2 s kept it near 130 MiB), and the daemon to 760–1060 MiB; with 512 the workers held
 * 110–190 MiB and the daemon peaked at 545–650 MiB. The terminals' cells are typed arrays
 * outside this heap, so it limits garbage rather than scrollback. A worker that does reach it
 * dies and is replaced like any failed worker (docs/daemon.md "Hostile output").
 */
export const SCREEN_WORKER_HEAP_MB = 512

/**
 * What text may cost a screen worker to parse, in ms per MiB: the unit of a screen's parse cost
 * (daemon/src/screen/parse-scheduler.ts, docs/daemon.md "Hostile output"); output at or below
 * it has weight 1 and is never held. Measured with @xterm/headless 6 on the 2-core development
 * machine, parsed whole (fast-forward skips most of a flood, cheaper still): lines of text 24
 * ms/MiB, coloured logs 59–90, a TUI's redraws 14–17, short lines (`line N`) 100–250 in a fresh
 * worker; the soak's hostile output 350–600 on average, its clamped huge-count sequences 7,700,
 * `CSI 4800 b` repeats 20,000 (weight 16, the most).
 */
export const SCREEN_TEXT_PARSE_MS_PER_MIB = 250
/**
 * The largest weight a screen's cost gives it: output at 16 times the cost of text or more gets,
 * beside a text flood, a seventeenth of its worker, and alone at most a sixteenth of the
 * worker's wall time; its flow-control watermarks are divided by the same (4 MiB → 256 KiB).
 */
export const SCREEN_COST_WEIGHT_MAX = 16

/** Sessions one daemon runs at once; a spawn past it gets 429 `limit_reached` (each holds a PTY, a process and a screen). */
export const MAX_SESSIONS = 256

/** Live-channel sockets one daemon serves at once; an upgrade past it gets 503 `unavailable`. */
export const MAX_LIVE_SOCKETS = 256

/** Terminals one live-channel socket may have attached at once; an attach past it gets a `limit_reached` error frame. */
export const MAX_ATTACHMENTS_PER_SOCKET = 64

/**
 * Everything queued for one viewer (output, snapshots, events). Output alone is bounded lower
 * (a slow viewer is resynced, see daemon/src/live/viewer.ts); snapshots and events are never
 * dropped, so a viewer that stops reading while they pile up is disconnected past this bound,
 * with a reason, rather than grown: 16 MiB holds several full 10,000-line snapshots.
 */
export const MAX_VIEWER_QUEUED_BYTES = 16 * 1024 * 1024

/**
 * Presence (awareness) bounds of the sync server, per room. A stock client speaks for one client
 * id and sends a state of a few hundred bytes; one connection announcing 1,000 fake ids with 5 KB
 * states, 40 times, took the server from 89 to 961 MB and left newcomers a greeting no client
 * could take. Entries past a bound are not stored or relayed (sync-server/src/presence.ts).
 */
export const MAX_PRESENCE_CLIENTS_PER_CONNECTION = 8
export const MAX_PRESENCE_STATE_BYTES = 8 * 1024
export const MAX_PRESENCE_ROOM_BYTES = 1024 * 1024
/** The presence a newcomer is greeted with is sent in messages of at most this size. */
export const MAX_PRESENCE_MESSAGE_BYTES = 64 * 1024

/**
 * Largest layout document of one workspace (its encoded state). An update that would take it
 * past this is refused and its connection closed with the reason (a layout of thousands of tabs
 * is a few hundred KB; a document that grew to 98 MB from valid updates was rewritten whole at
 * every flush).
 */
export const MAX_LAYOUT_DOC_BYTES = 8 * 1024 * 1024

/**
 * HTTP connections one server holds at once (at most a quarter of its file-descriptor limit,
 * the rest is for PTYs and files). Past it, the oldest connection that has not yet sent a
 * complete request is closed to make room, so half-open connections cannot lock out the token
 * holder; when every connection is a real one, the new one is answered 503 (see
 * server-kit/src/connections.ts).
 */
export const MAX_HTTP_CONNECTIONS = 1024
/** A connection must send its request headers within this, and the whole request within HTTP_REQUEST_TIMEOUT_MS. */
export const HTTP_HEADERS_TIMEOUT_MS = 10_000
export const HTTP_REQUEST_TIMEOUT_MS = 30_000

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
