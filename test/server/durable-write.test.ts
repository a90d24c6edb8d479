/**
 * The one durable write (server-kit/src/durable-write.ts), both forms, on real files: the new
 * contents whole, mode 0600 whatever the old file had, no temporary file left beside it, the
 * target untouched when the write fails, and writes racing on one path each landing whole.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeFileDurable, writeFileDurableSync } from '@tabula/server-kit/durable-write'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-durable-'))
  dirs.push(dir)
  return dir
}

const forms = {
  async: (path: string, data: string | Uint8Array) => writeFileDurable(path, data),
  sync: async (path: string, data: string | Uint8Array) => writeFileDurableSync(path, data),
}

for (const [form, write] of Object.entries(forms)) {
  describe(`writeFileDurable${form === 'sync' ? 'Sync' : ''}`, () => {
    it('replaces the file whole, mode 0600 even over a looser file, and leaves nothing beside it', async () => {
      const dir = tempDir()
      const path = join(dir, 'state.json')
      writeFileSync(path, 'old contents that are longer than the new ones')
      chmodSync(path, 0o644)
      await write(path, '{"new":true}\n')
      expect(readFileSync(path, 'utf8')).toBe('{"new":true}\n')
      expect(statSync(path).mode & 0o777).toBe(0o600)
      expect(readdirSync(dir)).toEqual(['state.json'])
      const bytes = new Uint8Array(64 * 1024).map((_, i) => i % 251)
      await write(path, bytes)
      expect(new Uint8Array(readFileSync(path))).toEqual(bytes)
    })

    it('leaves the target as it was and no temporary file when the write fails', async () => {
      const dir = tempDir()
      const target = join(dir, 'in-the-way')
      mkdirSync(target)
      writeFileSync(join(target, 'kept'), 'kept')
      await expect(write(target, 'x')).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST/)
      expect(readFileSync(join(target, 'kept'), 'utf8')).toBe('kept')
      expect(readdirSync(dir)).toEqual(['in-the-way'])
      await expect(write(join(dir, 'missing-dir', 'file'), 'x')).rejects.toThrow(/ENOENT/)
      expect(readdirSync(dir)).toEqual(['in-the-way'])
    })
  })
}

it('writes racing on one path each land whole: the file ends as one of them, never a mix', async () => {
  const dir = tempDir()
  const path = join(dir, 'doc.ydoc')
  const contents = Array.from({ length: 20 }, (_, i) => String(i).repeat(10_000 + i))
  await Promise.all(contents.map((c) => writeFileDurable(path, c)))
  expect(contents).toContain(readFileSync(path, 'utf8'))
  expect(readdirSync(dir)).toEqual(['doc.ydoc'])
})
