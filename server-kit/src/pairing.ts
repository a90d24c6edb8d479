/**
 * The two device routes every serving process mounts beside its components (docs/daemon.md,
 * "Devices"): `POST /v1/pair` turns a one-time pairing code into the device's own token (served
 * without a token: the code is the credential), and `GET /v1/whoami` tells a page who it is, so a
 * watch-only phone can say so instead of failing at each edit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { PAIR_PATH, PAIRING_CODE_RE, WHOAMI_PATH, type PairResponse } from '@tabula/protocol'
import { MAX_PAIR_BODY_BYTES } from '@tabula/protocol'
import { principalOf } from './auth.js'
import { DeviceError, type DeviceStore } from './devices.js'
import { HttpError, readJsonBody, sendJson } from './errors.js'
import type { Component } from './host.js'

export function createPairingRoutes(store: DeviceStore): Component {
  return {
    name: 'pairing',
    isPublic: (_req, url) => url.pathname === PAIR_PATH,
    async handleRequest(req: IncomingMessage, res: ServerResponse, url: URL) {
      if (url.pathname === PAIR_PATH) {
        if (req.method !== 'POST') {
          res.setHeader('allow', 'POST')
          throw new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${PAIR_PATH} (allowed: POST)`)
        }
        const body = await readJsonBody(req, MAX_PAIR_BODY_BYTES)
        const code = (body as { code?: unknown } | null)?.code
        if (typeof code !== 'string' || !PAIRING_CODE_RE.test(code)) {
          throw new HttpError(
            400,
            'bad_request',
            'expected {"code": "<32 hex digits>"}, the code after #pair= in the link `tabula pair` printed',
          )
        }
        try {
          const device = store.redeem(code)
          sendJson(res, 201, device satisfies PairResponse)
        } catch (err) {
          if (err instanceof DeviceError) throw new HttpError(403, 'forbidden', err.message)
          throw err
        }
        return true
      }
      if (url.pathname === WHOAMI_PATH) {
        if (req.method !== 'GET') {
          res.setHeader('allow', 'GET')
          throw new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${WHOAMI_PATH} (allowed: GET)`)
        }
        sendJson(res, 200, principalOf(req))
        return true
      }
      return false
    },
    async close() {
      store.close()
    },
  }
}
