/**
 * Smaller refusals, each with the answer a person would expect (docs/daemon.md): an oversized
 * chunked body, control characters in workspace paths and names, and `--allow-origin null`.
 */
import { request } from 'node:http'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { MAX_HTTP_BODY_BYTES } from '@tabula/protocol'
import { removeHome, startTabula, type RunningTabula } from '../helpers/tabula.js'
import { api } from './support.js'

let t: RunningTabula
beforeAll(async () => {
  t = await startTabula(['daemon', '--allow-origin', 'null'])
})
afterAll(async () => {
  await t?.stop()
  if (t) removeHome(t.home)
})

it('a chunked body over the limit gets 413 with Connection: close, read whole by the client', async () => {
  const { status, headers, body } = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request(`${t.daemonUrl}/v1/workspaces`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      })
      req.on('response', (res) => {
        let text = ''
        res.on('data', (d: Buffer) => (text += d))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }))
        res.on('error', reject)
      })
      req.on('error', reject)
      const chunk = Buffer.alloc(16 * 1024, 0x20)
      for (let sent = 0; sent <= 2 * MAX_HTTP_BODY_BYTES; sent += chunk.length) req.write(chunk)
      req.end()
    },
  )
  expect(status).toBe(413)
  expect(headers.connection).toBe('close')
  expect(JSON.parse(body)).toEqual({ error: { code: 'payload_too_large', message: expect.any(String) } })
})

it.each([
  ['a NUL in the path', { path: '/tmp/ws\u0000evil' }, /a workspace path must not contain NUL/],
  [
    'an escape in the name',
    { path: '/tmp/ws-esc', name: 'x\u001b]0;pwned\u0007' },
    /a workspace name must not contain NUL or other control characters/,
  ],
  ['a C1 control in the name', { path: '/tmp/ws-c1', name: 'x\u009b2J' }, /a workspace name must not contain/],
])('refuses %s with 400, and creates nothing', async (_what, body, message) => {
  const res = await api(t).call('POST', '/v1/workspaces', body)
  expect(res.status).toBe(400)
  expect(res.body.error.message).toMatch(message)
  expect((await api(t).call('GET', '/v1/workspaces')).body.map((w: { path: string }) => w.path)).not.toContain(body.path)
})

it('warns loudly when --allow-origin null is given', () => {
  expect(t.output()).toMatch(/WARNING: --allow-origin null admits every page whose origin is opaque/)
})
