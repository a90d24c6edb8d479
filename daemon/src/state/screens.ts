/**
 * Saved screens: one file per session under `<home>/screens/`, holding the serialized screen and
 * scrollback the daemon's headless terminal showed, so that a restarted daemon can show it again
 * above a line saying the previous process ended (docs/daemon.md "Restore"). Files are written
 * durably and whole (writeFileDurable), so a crash leaves the previous save or the new one.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { isCanonicalKey } from '@tabula/protocol'
import { writeFileDurable } from '@tabula/server-kit'

export const SCREENS_DIR = 'screens'

const savedScreen = z.object({
  version: z.literal(1),
  key: z.string(),
  cols: z.number().int().positive(),
  rows: z.number().int().positive(),
  /** The serialized screen, as the live channel's snapshot gives it (VT sequences). */
  data: z.string(),
  /** When this save was taken. */
  savedAt: z.string(),
  /** Set by the save at a clean shutdown: when the daemon ended the session's process. */
  endedAt: z.string().nullable(),
})

export type SavedScreen = z.infer<typeof savedScreen>

export interface ScreenFiles {
  readonly dir: string
  read(key: string): SavedScreen | null
  /** Resolves once the file is on disk. */
  write(screen: SavedScreen): Promise<void>
  remove(key: string): void
  /** Keys that have a file. */
  keys(): string[]
}

export function openScreenFiles(home: string): ScreenFiles {
  const dir = join(home, SCREENS_DIR)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  // Only canonical keys name files, so no key can reach outside the directory.
  const fileOf = (key: string) => {
    if (!isCanonicalKey(key)) throw new Error(`"${key}" is not a canonical key`)
    return join(dir, `${key}.json`)
  }
  return {
    dir,
    read(key) {
      try {
        const parsed = savedScreen.safeParse(JSON.parse(readFileSync(fileOf(key), 'utf8')))
        return parsed.success && parsed.data.key === key ? parsed.data : null
      } catch {
        // Missing, unreadable or half-written by a tabula that crashed mid-write: nothing to show.
        return null
      }
    },
    async write(screen) {
      await writeFileDurable(fileOf(screen.key), encodeScreenPieces(screen))
    },
    remove(key) {
      rmSync(fileOf(key), { force: true })
    },
    keys() {
      let names: string[]
      try {
        names = readdirSync(dir)
      } catch {
        return []
      }
      return names
        .filter((name) => name.endsWith('.json'))
        .map((name) => name.slice(0, -'.json'.length))
        .filter(isCanonicalKey)
    },
  }
}

/** A screen file's contents. */
export function encodeScreen(screen: SavedScreen): string {
  return JSON.stringify(screen)
}

/** Characters of the screen's text escaped at a time by encodeScreenPieces. */
const JSON_PIECE_CHARS = 64 * 1024

/**
 * A screen file's contents (exactly encodeScreen's) in pieces of about JSON_PIECE_CHARS: a save
 * writes them one after another, so no second copy of a whole screen (megabytes with its
 * scrollback) is made to save it (docs/daemon.md, "Memory per session").
 */
export function* encodeScreenPieces(screen: SavedScreen): Generator<string> {
  const around = JSON.stringify({ ...screen, data: '' })
  const at = around.indexOf('"data":""') + '"data":"'.length
  yield around.slice(0, at)
  const { data } = screen
  for (let from = 0; from < data.length; ) {
    let to = Math.min(data.length, from + JSON_PIECE_CHARS)
    // A surrogate pair escaped in two pieces would be two escaped halves, not the character.
    if (to < data.length && isHighSurrogate(data.charCodeAt(to - 1))) to++
    yield JSON.stringify(data.slice(from, to)).slice(1, -1)
    from = to
  }
  yield around.slice(at)
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

/** The size of a screen's file in bytes. */
export function screenFileBytes(screen: SavedScreen): number {
  let size = 0
  for (const piece of encodeScreenPieces(screen)) size += Buffer.byteLength(piece)
  return size
}

/**
 * `screen` with its oldest lines dropped until its file is at most `maxBytes`: the budget is the
 * disk a file takes, and JSON escapes control characters (an ESC takes 6 bytes, a CR LF 4).
 */
export function fitScreen(screen: SavedScreen, maxBytes: number): SavedScreen {
  let budget = maxBytes
  let fitted = { ...screen, data: trimScreenData(screen.data, budget) }
  for (let size = screenFileBytes(fitted); size > maxBytes && fitted.data; size = screenFileBytes(fitted)) {
    budget -= size - maxBytes
    fitted = { ...screen, data: trimScreenData(screen.data, Math.max(0, budget)) }
  }
  return fitted
}

/**
 * `data` cut to at most `maxBytes` of UTF-8 by dropping its oldest lines (whole rows: the cut
 * is made after a CR LF). Colours of the first line kept may be lost with the lines before it.
 */
export function trimScreenData(data: string, maxBytes: number): string {
  if (Buffer.byteLength(data, 'utf8') <= maxBytes) return data
  const bytes = Buffer.from(data, 'utf8')
  const from = bytes.indexOf('\r\n', bytes.length - maxBytes + RESET.length)
  if (from === -1) return ''
  return RESET + bytes.subarray(from + 2).toString('utf8')
}

const RESET = '\x1b[0m'
