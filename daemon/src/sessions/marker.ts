/**
 * The line a restored session shows between its previous screen and its new program, so nobody
 * mistakes the new shell for the old one (docs/daemon.md "Restore").
 */

/** How the previous program ended, as far as the new daemon knows. */
export type PreviousEnd =
  /** tabula was stopped (SIGINT/SIGTERM) and ended it then. */
  | { kind: 'stopped'; at: Date }
  /** The previous daemon died; the program outlived it and this daemon ended it on start. */
  | { kind: 'ended-on-restart'; at: Date }
  /** The previous daemon died and the program was gone by the time this one started. */
  | { kind: 'lost'; before: Date; lastSaved: Date }

/**
 * Leaves whatever modes the old program had set (the alternate screen, mouse reporting, bracketed
 * paste, attributes, a hidden cursor), so the new program starts on a plain terminal.
 */
const PLAIN_TERMINAL = '\x1b[?1049l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?2004l\x1b[?25h\x1b[0m'
const DIM_REVERSE = '\x1b[2;7m'
const RESET = '\x1b[0m'

/** The bytes written after the old screen: a fresh line, the marker, and the line the new program starts on. */
export function restartMarker(end: PreviousEnd): string {
  return `${PLAIN_TERMINAL}\r\n${DIM_REVERSE} ${markerText(end)} ${RESET}\r\n`
}

/** Short enough to fit on one line of an 80-column terminal. */
export function markerText(end: PreviousEnd): string {
  switch (end.kind) {
    case 'stopped':
      return `── previous process ended ${when(end.at)}: tabula stopped ──`
    case 'ended-on-restart':
      return `── previous process ended ${when(end.at)}, after tabula died ──`
    case 'lost':
      return `── previous process ended by ${when(end.before)}: tabula died ──`
  }
}

/** `2026-12-01 21:54:03 UTC`: one unambiguous form, whatever the viewer's time zone. */
function when(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace('T', ' ')} UTC`
}
