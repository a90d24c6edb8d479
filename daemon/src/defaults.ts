/**
 * The daemon's tunable numbers, named in one place so docs/daemon.md can cite them.
 */

/** Lines of scrollback each session's headless terminal keeps, unless `--scrollback` says otherwise. */
export const DEFAULT_SCROLLBACK = 5000

/**
 * How long a closed session's process group gets to exit after SIGHUP before it is sent SIGKILL.
 * Long enough for a shell to save its history, short enough that closing a tab feels immediate.
 */
export const CLOSE_GRACE_MS = 2000

/** How often a closing process group is checked for survivors during the grace. */
export const CLOSE_POLL_MS = 25

/** The state file under the home (docs/daemon.md, "Files under the home"). */
export const STATE_FILE = 'state.json'

/**
 * How often a session's screen is saved to disk while its output changes (docs/daemon.md
 * "Restore"): a crash loses at most this much of what the tab showed.
 */
export const SCREEN_SAVE_INTERVAL_MS = 3000

/** How long a save waits for a screen's snapshot before skipping it (a screen that never answers). */
export const SNAPSHOT_WAIT_MS = 5000
