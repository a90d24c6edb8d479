/**
 * Saved screens within their disk budget (docs/daemon.md "Restore"): a screen over its share loses
 * its oldest lines and nothing else. Checked against stock @xterm/headless and its serializer:
 * the trimmed save, replayed into a fresh terminal, shows the same last lines as the original.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import xtermHeadless from '@xterm/headless'
import serializeAddon from '@xterm/addon-serialize'
import { afterEach, describe, expect, it } from 'vitest'
import { openScreenFiles, trimScreenData } from '../../daemon/src/state/screens.js'
import { partialMarkerAt } from '../../daemon/src/sessions/pty.js'

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
  it('writes whole files, reads back only what a tabula wrote, and refuses keys that are not canonical', () => {
    const home = mkdtempSync(join(tmpdir(), 'tabula-screens-'))
    dirs.push(home)
    const files = openScreenFiles(home)
    const screen = { version: 1 as const, key: 'hb-a', cols: 80, rows: 24, data: 'hi', savedAt: new Date().toISOString(), endedAt: null }
    files.write(screen)
    expect(files.read('hb-a')).toEqual(screen)
    expect(files.keys()).toEqual(['hb-a'])
    expect(statSync(join(files.dir, 'hb-a.json')).mode & 0o777).toBe(0o600)
    expect(() => files.write({ ...screen, key: '../../etc/x' })).toThrow(/canonical/)
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
