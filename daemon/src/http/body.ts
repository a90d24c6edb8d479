/**
 * Request bodies: read within the size bound, then checked against a zod schema, so a handler
 * only ever sees input of the right shape.
 */
import type { IncomingMessage } from 'node:http'
import { MAX_HTTP_BODY_BYTES } from '@tabula/protocol'
import { HttpError, readJsonBody } from '@tabula/server-kit'
import { describeIssues, type z } from '@tabula/protocol/validate'

export async function readBody<T extends z.ZodType>(req: IncomingMessage, schema: T): Promise<z.output<T>> {
  const json = await readJsonBody(req, MAX_HTTP_BODY_BYTES)
  const parsed = schema.safeParse(json)
  if (!parsed.success) throw new HttpError(400, 'bad_request', `invalid request body: ${describeIssues(parsed.error)}`)
  return parsed.data
}
