import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLocalSync, tryUpgrade, WORKSPACE, type LocalSync } from './helpers.js'

const OTHER_WORKSPACE = '0c8f7e6d-5b4a-4c3d-9e2f-1a0b9c8d7e6f'

describe('who may open a sync connection', () => {
  let server: LocalSync
  beforeAll(async () => {
    server = await startLocalSync({ workspaceExists: (id) => id === WORKSPACE })
  })
  afterAll(() => server?.stop())

  it('no token: 401 with a JSON reason, before the upgrade', async () => {
    const res = await tryUpgrade(server.url, `/sync/${WORKSPACE}`, {}, ['tabula.v1'])
    expect(res.status).toBe(401)
    expect(res.body).toMatchObject({ error: { code: 'unauthorized' } })
  })

  it('a wrong token: 403', async () => {
    const res = await tryUpgrade(server.url, `/sync/${WORKSPACE}`, {}, ['tabula.v1', 'bearer.wrong'])
    expect(res.status).toBe(403)
    expect(res.body).toMatchObject({ error: { code: 'forbidden' } })
  })

  it('a foreign Origin: 403, even with the right token', async () => {
    const res = await tryUpgrade(server.url, `/sync/${WORKSPACE}`, { origin: 'http://evil.example' }, [
      'tabula.v1',
      `bearer.${server.token}`,
    ])
    expect(res.status).toBe(403)
    expect(res.body).toMatchObject({ error: { code: 'forbidden_origin' } })
  })

  it('a room that is not a workspace id: 400', async () => {
    for (const room of ['not-a-uuid', '', WORKSPACE.toUpperCase(), `${WORKSPACE}/x`]) {
      const res = await tryUpgrade(server.url, `/sync/${room}`, {}, ['tabula.v1', `bearer.${server.token}`])
      expect(res.status, room).toBe(400)
      expect(res.body).toMatchObject({ error: { code: 'bad_request' } })
    }
  })

  it('a well-formed id that names no workspace (daemon in the same process): 404', async () => {
    const res = await tryUpgrade(server.url, `/sync/${OTHER_WORKSPACE}`, {}, ['tabula.v1', `bearer.${server.token}`])
    expect(res.status).toBe(404)
  })

  it('the right token, as subprotocol or header: accepted, selecting tabula.v1 only', async () => {
    const bySubprotocol = await tryUpgrade(server.url, `/sync/${WORKSPACE}`, {}, ['tabula.v1', `bearer.${server.token}`])
    expect(bySubprotocol).toMatchObject({ status: 101, protocol: 'tabula.v1' })
    const byHeader = await tryUpgrade(server.url, `/sync/${WORKSPACE}`, { authorization: `Bearer ${server.token}` })
    expect(byHeader.status).toBe(101)
    const ownOrigin = await tryUpgrade(server.url, `/sync/${WORKSPACE}`, { origin: server.url }, ['tabula.v1', `bearer.${server.token}`])
    expect(ownOrigin.status).toBe(101)
  })
})
