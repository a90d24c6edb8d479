/**
 * The route table (protocol/src/routes.ts) is the one list of the HTTP API: the daemon serves from
 * it and clients build their requests from it. Checked against a real `tabula up`: every route
 * of the table answers its own method with a success (or, for pairing, the refusal of a bad
 * code), never "no such route" or "method not allowed"; and paths are filled in segment-safely.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { newTabKey, ROUTES, routePath, type RouteSpec } from '@tabula/protocol'
import { removeHome, startTabula, type RunningTabula } from '../helpers/tabula.js'

describe('routePath', () => {
  it('fills each parameter as one encoded path segment', () => {
    expect(routePath(ROUTES.getSession.pattern, { ws: 'a/b', key: 'c d?' })).toBe('/v1/workspaces/a%2Fb/sessions/c%20d%3F')
    expect(routePath(ROUTES.listWorkspaces.pattern, {})).toBe('/v1/workspaces')
  })
})

describe('the daemon serves every route of the table', () => {
  let t: RunningTabula
  beforeAll(async () => {
    t = await startTabula(['up'])
  })
  afterAll(async () => {
    await t?.stop()
    if (t) removeHome(t.home)
  })

  async function call(route: RouteSpec, params: Record<string, string>, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(t.url + routePath(route.pattern, params as never), {
      method: route.method,
      headers: { authorization: `Bearer ${t.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? null : JSON.stringify(body),
    })
    return { status: res.status, json: await res.json() }
  }

  it('in an order that makes each one succeed', async () => {
    const path = join(t.home, 'project')
    mkdirSync(path)
    const served = new Set<string>()
    const expectOk = async (name: keyof typeof ROUTES, params: Record<string, string>, status: number, body?: unknown) => {
      const answer = await call(ROUTES[name], params, body)
      expect(answer.status, `${name}: ${JSON.stringify(answer.json)}`).toBe(status)
      served.add(name)
      return answer.json
    }
    expect(await expectOk('health', {}, 200)).toMatchObject({ ok: true })
    expect(await expectOk('whoami', {}, 200)).toEqual({ kind: 'root', scope: 'full' })
    const ws = (await expectOk('ensureWorkspace', {}, 201, { path })).id as string
    expect(await expectOk('ensureWorkspace', {}, 200, { path })).toMatchObject({ id: ws })
    expect(await expectOk('listWorkspaces', {}, 200)).toEqual([expect.objectContaining({ id: ws, path })])
    expect(await expectOk('getWorkspace', { ws }, 200)).toMatchObject({ id: ws })
    const key = newTabKey()
    expect(await expectOk('spawnSession', { ws }, 201, { key, command: '/bin/sh', args: ['-c', 'sleep 30'] })).toMatchObject({
      session: { key },
    })
    expect(await expectOk('listSessions', { ws }, 200)).toMatchObject({ sessions: [expect.objectContaining({ key })] })
    expect(await expectOk('getSession', { ws, key }, 200)).toMatchObject({ session: { key } })
    expect(await expectOk('closeSession', { ws, key }, 200)).toEqual({ key, closed: true })
    expect(await expectOk('removeWorkspace', { ws }, 200)).toEqual({ id: ws, removed: true })
    // A pairing code nobody issued: refused as such by the route, not as an unknown route.
    const pairing = await call(ROUTES.pair, {}, { code: '0'.repeat(32) })
    expect(pairing.status).toBe(403)
    expect(pairing.json.error.code).toBe('forbidden')
    served.add('pair')
    expect([...served].sort()).toEqual(Object.keys(ROUTES).sort())
  })
})
