/**
 * Saved screens within their disk budget (docs/daemon.md "Restore"): a screen over its share loses
 * its oldest lines and nothing else. Checked against stock @xterm/headless and its serializer:
 * the trimmed save, replayed into a fresh terminal, shows the same last lines as the original.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import xtermHeadless from '@xterm/headless'
import serializeAddon from '@xterm/addon-serialize'
import { afterEach, describe, expect, it } from 'vitest'
import {
  encodeScreen,
  encodeScreenPieces,
  openScreenFiles,
  screenFileBytes,
  trimScreenData,
  type SavedScreen,
} from '../../daemon/src/state/screens.js'
import { partialMarkerAt } from '../../daemon/src/sessions/pty.js'
import { SessionMap } from '../../daemon/src/sessions/map.js'
import { keepScreens } from '../../daemon/src/screen-keeper.js'
import { createLogger } from '@tabula/server-kit'

const WS = '2a7c0d1e-3f4b-4c5d-8e6f-7a8b9c0d1e2f'

const { Terminal } = xtermHeadless
const { SerializeAddon } = serializeAddon
const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function terminalWith(data: string, cols = 100, rows = 30) {
  const term = new Terminal({ cols, rows, scrollback: 5000, allowProposedApi: true })
  const serializer = new SerializeAddon()
  term.loadAddon(serializer)
  await new Promise<void>((resolve) => term.write(data, resolve))
  const lines = () => {
    const buffer = term.buffer.active
    const out: string[] = []
    for (let i = 0; i < buffer.length; i++) out.push(buffer.getLine(i)!.translateToString(true))
    return out.join('\n').trimEnd().split('\n')
  }
  return { term, serialize: () => serializer.serialize(), lines }
}

describe('a screen file in pieces', () => {
  // Every character JSON escapes or must keep whole, around the piece boundaries (64 Ki characters).
  const tricky = '\x1b[1;31m"quoted" back\\slash\ttab\r\n\u2028\u0000 漢字 😀 \ud800 lone \udc00'
  const piece = 64 * 1024
  const data = ['x'.repeat(piece - 1) + '😀', 'y'.repeat(piece - 1) + '\ud83d', tricky.repeat(5000), '\udc00 end'].join('')
  const screen: SavedScreen = { version: 1, key: 'hb-pieces', cols: 80, rows: 24, data, savedAt: new Date(0).toISOString(), endedAt: null }

  it('is exactly the whole file, whatever the characters at the boundaries', () => {
    expect([...encodeScreenPieces(screen)].join('')).toBe(encodeScreen(screen))
    expect(screenFileBytes(screen)).toBe(Buffer.byteLength(encodeScreen(screen)))
    const lone = { ...screen, data: 'z'.repeat(piece - 1) + '\ud83d' }
    expect([...encodeScreenPieces(lone)].join('')).toBe(encodeScreen(lone))
  })

  it('is written and read back as it was', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tabula-screens-'))
    dirs.push(home)
    const files = openScreenFiles(home)
    await files.write(screen)
    expect(files.read(screen.key)).toEqual(screen)
  })
})

describe('trimScreenData', () => {
  it('leaves a screen within the cap as it is', () => {
    expect(trimScreenData('hello\r\nworld', 100)).toBe('hello\r\nworld')
  })

  it('keeps the newest lines whole, within the cap, and they replay to the same screen end', async () => {
    let text = ''
    for (let i = 0; i < 3000; i++) text += `\x1b[3${i % 8}mline ${String(i).padStart(5, '0')} ${'x'.repeat(i % 60)}\x1b[0m\r\n`
    text += '$ '
    const original = await terminalWith(text)
    const saved = original.serialize()
    const cap = 32 * 1024
    expect(Buffer.byteLength(saved)).toBeGreaterThan(cap)
    const trimmed = trimScreenData(saved, cap)
    expect(Buffer.byteLength(trimmed)).toBeLessThanOrEqual(cap)
    const replayed = await terminalWith(trimmed)
    const kept = replayed.lines()
    expect(kept.length).toBeGreaterThan(100)
    // Whole lines, the newest ones, in order: the end of the original.
    expect(original.lines().slice(-kept.length)).toEqual(kept)
    original.term.dispose()
    replayed.term.dispose()
  })
})

describe('screen files', () => {
  it('writes whole files, reads back only what a tabula wrote, and refuses keys that are not canonical', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tabula-screens-'))
    dirs.push(home)
    const files = openScreenFiles(home)
    const screen = { version: 1 as const, key: 'hb-a', cols: 80, rows: 24, data: 'hi', savedAt: new Date().toISOString(), endedAt: null }
    await files.write(screen)
    expect(files.read('hb-a')).toEqual(screen)
    expect(files.keys()).toEqual(['hb-a'])
    expect(readdirSync(files.dir)).toEqual(['hb-a.json']) // no temporary file left beside it
    expect(statSync(join(files.dir, 'hb-a.json')).mode & 0o777).toBe(0o600)
    await expect(files.write({ ...screen, key: '../../etc/x' })).rejects.toThrow(/canonical/)
    expect(files.read('hb-missing')).toBeNull()
    files.remove('hb-a')
    expect(files.keys()).toEqual([])
  })
})

describe('the end marker of the drain', () => {
  it('holds back exactly the bytes that could begin a marker split between two reads', () => {
    const marker = Buffer.from('ABC123')
    expect(partialMarkerAt(Buffer.from('output ABC'), marker)).toBe(3)
    expect(partialMarkerAt(Buffer.from('output A'), marker)).toBe(1)
    expect(partialMarkerAt(Buffer.from('output'), marker)).toBe(0)
    expect(partialMarkerAt(Buffer.from('ABC12'), marker)).toBe(5)
  })
})

describe('the disk budget of saved screens', () => {
  it('gives each session at most its cap, and all of them together at most the total', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tabula-screens-'))
    dirs.push(home)
    const files = openScreenFiles(home)
    const map = new SessionMap(createLogger('test', 'silent'))
    const screen = 'a line of output that scrolled by\r\n'.repeat(4000) // 140 KB each
    const keeper = keepScreens({
      sessions: map,
      files,
      snapshot: async () => ({ cols: 80, rows: 24, data: screen }),
      log: createLogger('test', 'silent'),
      caps: { perSession: 64 * 1024, total: 160 * 1024 },
    })
    try {
      for (const key of ['hb-a', 'hb-b', 'hb-c', 'hb-d'])
        map.spawn({ key, workspace: WS, command: 'sleep', file: '/bin/sleep', args: ['1000'], cwd: '/', cols: 80, rows: 24 })
      await keeper.saveAll()
      const sizes = files.keys().map((key) => statSync(join(files.dir, `${key}.json`)).size)
      expect(sizes).toHaveLength(4)
      // 160 KiB over 4 sessions is 40 KiB of file each, under the 64 KiB cap; and not much less.
      for (const size of sizes) expect(size).toBeLessThanOrEqual(40 * 1024)
      for (const size of sizes) expect(size).toBeGreaterThan(36 * 1024)
      for (const key of files.keys()) expect(files.read(key)!.data.endsWith('a line of output that scrolled by\r\n')).toBe(true)
    } finally {
      keeper.stop()
      await map.stopAll()
    }
  })
})
