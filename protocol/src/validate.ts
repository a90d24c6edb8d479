/**
 * Schemas for everything that arrives from outside: HTTP bodies and live-channel frames. They are
 * the one definition of those shapes: the types every component uses (`ClientFrame`,
 * `SpawnRequest`, `CreateWorkspaceRequest`, `ViewerInfo`) are inferred from them with type-only
 * imports (frames.ts, api.ts), which leave no trace in JavaScript. Servers import this entry to
 * validate; browsers never need it, which keeps zod out of every browser bundle
 * (docs/protocol.md, "Where the frames are defined").
 */
import { z } from 'zod'
import { MAX_COLS, MAX_ROWS, MIN_COLS, MIN_ROWS } from './limits.js'

const cols = z.number().int().min(MIN_COLS).max(MAX_COLS)
const rows = z.number().int().min(MIN_ROWS).max(MAX_ROWS)

export const spawnRequestSchema = z.strictObject({
  key: z.string().min(1).max(200).optional(),
  command: z.string().min(1).max(4096).optional(),
  args: z.array(z.string().max(65536)).max(1000).optional(),
  cwd: z.string().min(1).max(4096).optional(),
  env: z.record(z.string().max(1024), z.string().max(65536)).optional(),
  cols: cols.optional(),
  rows: rows.optional(),
  closeOnExit: z.boolean().optional(),
})

/**
 * NUL and other control characters in a workspace path or name are refused: no file system
 * path holds a NUL, and a name is printed by `tabula ls` to terminals, where control
 * characters would be obeyed rather than shown.
 */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/
const withoutControls = (what: string) =>
  [(value: string) => !CONTROL_CHARACTERS.test(value), { message: `${what} must not contain NUL or other control characters` }] as const

export const createWorkspaceRequestSchema = z.strictObject({
  path: z
    .string()
    .min(1)
    .max(4096)
    .refine(...withoutControls('a workspace path')),
  name: z
    .string()
    .min(1)
    .max(200)
    .refine(...withoutControls('a workspace name'))
    .optional(),
  id: z.string().max(64).optional(),
})

const ch = z.number().int().min(0).max(0xffffffff)

/** Who a viewer is, as others see it in presence and as the active driver; `kind` is free-form ("desktop", "phone", "cli", "editor"). */
export const viewerInfoSchema = z.strictObject({ name: z.string().max(200), kind: z.string().max(50) })

/** Every frame a viewer may send on the live channel (docs/protocol.md, "Frames"). */
export const clientFrameSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('hello'), viewer: viewerInfoSchema }),
  z.strictObject({ type: z.literal('watch'), workspace: z.string().max(64) }),
  z.strictObject({ type: z.literal('unwatch'), workspace: z.string().max(64) }),
  // `ch` is chosen by the viewer, unique among its own open attachments.
  // `binarySnapshot: true` asks for this channel's snapshots (at attach and at every resync) in a
  // binary frame after the `attached`/`resync` frame instead of as a JSON string inside it.
  // `screenFirst: true` asks for the screen alone in `attached` (no scrollback rows), then the whole
  // snapshot in a `resync` with reason `history` (docs/protocol.md, "Screen first").
  z.strictObject({
    type: z.literal('attach'),
    ch,
    key: z.string().max(200),
    binarySnapshot: z.boolean().optional(),
    screenFirst: z.boolean().optional(),
  }),
  z.strictObject({ type: z.literal('detach'), ch }),
  // The frame as a whole is bounded by MAX_LIVE_FRAME_BYTES before it is parsed.
  z.strictObject({ type: z.literal('input'), ch, data: z.string() }),
  z.strictObject({ type: z.literal('resize'), ch, cols, rows }),
  // Claim (`active: true`) or release the driver role of the attached session. A claim may carry
  // the claimer's size, applied in the same step so the PTY never sees an intermediate size; half
  // a size has no meaning, so it is refused, not guessed. A release only counts while this viewer
  // still holds the role (compare-and-set).
  z
    .strictObject({ type: z.literal('set_active'), ch, active: z.boolean(), cols: cols.optional(), rows: rows.optional() })
    .refine((frame) => (frame.cols === undefined) === (frame.rows === undefined), {
      message: 'cols and rows come together (both or neither)',
      path: ['cols'],
    }),
  z.strictObject({ type: z.literal('ping'), id: z.number().optional() }),
])

/** Every `type` a viewer may send, read off the schema; anything else is answered with `unknown_frame`. */
export const CLIENT_FRAME_TYPES: ReadonlyArray<z.infer<typeof clientFrameSchema>['type']> = clientFrameSchema.options.map(
  (option) => option.shape.type.value,
)

/** One line a person can read, from a zod error: `field: problem; field: problem`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; ')
}

export { z }
