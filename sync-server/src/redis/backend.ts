/**
 * The sync server's link to Redis (docs/sync.md, "Many instances on Redis"): where a room's
 * document lives (a snapshot plus a stream of the updates since), how updates and presence reach
 * every instance serving the room (pub/sub), and the short lease under which one instance at a
 * time compacts a room's stream into its snapshot.
 *
 * Keys of room R (the `{R}` hash tag keeps one room's keys in one Redis Cluster slot):
 *   tabula:layout:{R}:snapshot  hash   state = the compacted document (Yjs update, v2), upto = last stream id it holds
 *   tabula:layout:{R}:updates   stream one entry per applied update, field u = the update (Yjs update, v1)
 *   tabula:layout:{R}:lease     string the compacting instance's token, with a short expiry
 *   tabula:layout:{R}:size      string an upper bound of the document's encoded size (see APPEND_SCRIPT)
 *   tabula:layout:{R}           channel updates and presence for the instances serving R
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import * as Y from 'yjs'
import type { Logger } from '@tabula/server-kit'

/** Compact a room once its stream holds this many updates: its footprint stays near the compacted size. */
export const COMPACT_AFTER_UPDATES = 100
/** How long a compaction lease lasts. Short: an instance that dies holding it delays the next compaction by this much at most. */
export const COMPACT_LEASE_MS = 10_000
/** A command Redis has not answered in this long fails (a hung Redis must not stall connections forever). */
export const REDIS_COMMAND_TIMEOUT_MS = 5_000
/** How long start-up waits for Redis before giving up with an error. */
export const REDIS_CONNECT_TIMEOUT_MS = 10_000

const PREFIX = 'tabula:layout:'
const keysOf = (room: string) => ({
  snapshot: `${PREFIX}{${room}}:snapshot`,
  updates: `${PREFIX}{${room}}:updates`,
  lease: `${PREFIX}{${room}}:lease`,
  size: `${PREFIX}{${room}}:size`,
  channel: `${PREFIX}{${room}}`,
})

/** Kinds of bus message. */
export const BUS_UPDATE = 0
export const BUS_AWARENESS = 1
export const BUS_QUERY_AWARENESS = 2
/** kind (1 byte), sender instance (16 bytes), sender connection (4 bytes), then the payload. */
const INSTANCE_BYTES = 16
const HEADER_BYTES = 1 + INSTANCE_BYTES + 4

export interface BusMessage {
  kind: number
  /** Hex id of the instance that sent it. */
  instance: string
  /** The sending connection within that instance (0: none). */
  conn: number
  payload: Uint8Array
}

/**
 * The size bound (MAX_LAYOUT_DOC_BYTES) checked, the update appended and relayed, in one script:
 * Redis runs it atomically, so an update is relayed only once it is in the stream, every
 * subscriber receives updates in stream order, and two instances accepting updates at once
 * cannot both pass the bound on what each saw before the other's update. The size key holds an
 * upper bound of the document's encoded size (an update never grows the state by more than its
 * own length): exact when measured or compacted, plus every update appended since. When it is
 * missing, or the update would take it past the limit, the script appends nothing and answers
 * -1: the instance measures the document (SIZE_SCRIPT) and tries once more.
 */
const APPEND_SCRIPT = `
local size = tonumber(redis.call('GET', KEYS[2]))
local bytes = string.len(ARGV[1])
if size == nil or size + bytes > tonumber(ARGV[4]) then return -1 end
redis.call('SET', KEYS[2], size + bytes)
redis.call('XADD', KEYS[1], '*', 'u', ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[2] .. ARGV[1])
return redis.call('XLEN', KEYS[1])`

/** Bytes of the updates in a stream after an id (all of them after ''), for the scripts below. */
const STREAM_BYTES_LUA = `
local function streamBytes(stream, after)
  local from = '-'
  if after ~= '' then from = '(' .. after end
  local total = 0
  for _, entry in ipairs(redis.call('XRANGE', stream, from, '+')) do
    local fields = entry[2]
    for i = 1, #fields, 2 do if fields[i] == 'u' then total = total + string.len(fields[i + 1]) end end
  end
  return total
end`

/**
 * Sets the size key from a measurement: ARGV[1] is the exact size of the document as read up to
 * stream id ARGV[2] ('' : the snapshot alone), on the snapshot that held stream ids up to
 * ARGV[3]; the updates appended since are added. A compaction since the read (another snapshot)
 * makes the measurement useless: 0, measure again.
 */
const SIZE_SCRIPT = `${STREAM_BYTES_LUA}
if (redis.call('HGET', KEYS[1], 'upto') or '') ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[3], tonumber(ARGV[1]) + streamBytes(KEYS[2], ARGV[2]))
return 1`

/**
 * Replaces the snapshot and trims what it now holds, only while the caller still holds the
 * lease; the size key becomes the snapshot's exact size plus the updates left in the stream.
 */
const COMPACT_SCRIPT = `${STREAM_BYTES_LUA}
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'upto', ARGV[2])
redis.call('XTRIM', KEYS[2], 'MINID', ARGV[4])
redis.call('DEL', KEYS[3])
redis.call('SET', KEYS[4], string.len(ARGV[1]) + streamBytes(KEYS[2], ''))
return 1`

interface Scripted {
  tabulaAppend(stream: string, size: string, update: Buffer, header: Buffer, channel: string, limit: number): Promise<number>
  tabulaSize(snapshot: string, stream: string, size: string, measured: number, after: string, upto: string): Promise<number>
  tabulaCompact(
    snapshot: string,
    stream: string,
    lease: string,
    size: string,
    state: Buffer,
    upto: string,
    token: string,
    minId: string,
  ): Promise<number>
}

/** How often a measurement is taken again when compactions keep overtaking it (each is one read of the room). */
const MEASURE_ATTEMPTS = 5

/** What a room reads from Redis: its snapshot and the updates after it, read in one transaction. */
interface StoredRoom {
  snapshot: Buffer | null
  /** The last stream id the snapshot holds ('' : none). */
  upto: string
  updates: Array<{ id: string; update: Buffer }>
}

export interface RedisBackendOptions {
  url: string
  log: Logger
  /** Called when Redis becomes unreachable (every connection must be dropped) and again when it is back. */
  onAvailability(up: boolean): void
}

export class RedisBackend {
  /** This instance's id on the bus, so it can tell its own messages. */
  readonly instance = randomBytes(INSTANCE_BYTES)
  readonly instanceHex = this.instance.toString('hex')
  private readonly cmd: Redis & Scripted
  private readonly sub: Redis
  private readonly handlers = new Map<string, (message: BusMessage) => void>()
  private readonly compacting = new Set<string>()
  private up = false
  private wasUp = false
  private closed = false
  /** The last connection error, to say why start-up failed ("Connection is closed" says nothing). */
  private lastError: Error | null = null

  private constructor(private readonly opts: RedisBackendOptions) {
    const common = {
      // Fail at once while disconnected rather than queue: a queued update would be relayed late
      // and a client waiting on it would not know. The connection is dropped instead and resyncs.
      enableOfflineQueue: false,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    }
    this.cmd = new Redis(opts.url, { ...common, connectionName: 'tabula-sync' }) as Redis & Scripted
    // Subscriptions are restored by hand after a reconnect, from the rooms loaded at that moment.
    this.sub = new Redis(opts.url, { ...common, connectionName: 'tabula-sync-bus', autoResubscribe: false })
    this.cmd.defineCommand('tabulaAppend', { numberOfKeys: 2, lua: APPEND_SCRIPT })
    this.cmd.defineCommand('tabulaSize', { numberOfKeys: 3, lua: SIZE_SCRIPT })
    this.cmd.defineCommand('tabulaCompact', { numberOfKeys: 4, lua: COMPACT_SCRIPT })
    this.sub.on('messageBuffer', (channel: Buffer, data: Buffer) => this.dispatch(channel.toString(), data))
    for (const conn of [this.cmd, this.sub]) {
      conn.on('error', (err: Error) => {
        this.lastError = err
        opts.log.debug({ reason: err.message }, 'redis connection error')
      })
      conn.on('close', () => this.availability())
      conn.on('ready', () => void this.reconnected(conn))
    }
  }

  /** Connects both connections; rejects (with the reason) when Redis cannot be reached. */
  static async connect(opts: RedisBackendOptions): Promise<RedisBackend> {
    const backend = new RedisBackend(opts)
    try {
      await Promise.all([backend.cmd.connect(), backend.sub.connect()])
    } catch (err) {
      backend.cmd.disconnect()
      backend.sub.disconnect()
      throw new Error(`cannot reach Redis at ${redactUrl(opts.url)}: ${(backend.lastError ?? (err as Error)).message}`)
    }
    backend.availability()
    await backend.checkPersistence()
    return backend
  }

  get available(): boolean {
    return this.up
  }

  private availability(): void {
    const up = !this.closed && this.cmd.status === 'ready' && this.sub.status === 'ready'
    if (up === this.up) return
    this.up = up
    if (this.closed) return
    if (!up) this.opts.log.warn('redis is unreachable; sync connections are refused until it is back')
    else if (this.wasUp) this.opts.log.warn('redis is reachable again')
    this.wasUp ||= up
    this.opts.onAvailability(up)
  }

  private async reconnected(conn: Redis): Promise<void> {
    if (conn === this.sub && this.handlers.size > 0) {
      try {
        await this.sub.subscribe(...[...this.handlers.keys()])
      } catch (err) {
        this.opts.log.warn({ reason: (err as Error).message }, 'cannot resubscribe to redis; reconnecting')
        this.sub.disconnect(true)
        return
      }
    }
    this.availability()
  }

  /** Durability needs the append-only file; says so loudly when Redis runs without it. */
  private async checkPersistence(): Promise<void> {
    try {
      const reply = (await this.cmd.config('GET', 'appendonly')) as string[]
      if (reply[1] !== 'yes') {
        this.opts.log.warn('redis runs without appendonly: a Redis restart loses the layout documents (docs/sync.md, "Configuring Redis")')
      }
    } catch {
      // CONFIG is often disabled on managed Redis; the operator's configuration is then theirs to check.
    }
  }

  /** Receives the room's bus messages from now on; resolves once Redis confirmed the subscription. */
  async subscribe(room: string, handler: (message: BusMessage) => void): Promise<void> {
    const { channel } = keysOf(room)
    this.handlers.set(channel, handler)
    try {
      await this.sub.subscribe(channel)
    } catch (err) {
      if (this.handlers.get(channel) === handler) this.handlers.delete(channel)
      throw err
    }
  }

  /** Stops `handler` receiving the room's messages (unless another handler took the room since). */
  async unsubscribe(room: string, handler: (message: BusMessage) => void): Promise<void> {
    const { channel } = keysOf(room)
    if (this.handlers.get(channel) !== handler) return
    this.handlers.delete(channel)
    // While Redis is away this fails; the channel is then simply not restored at the reconnect.
    await this.sub.unsubscribe(channel).catch(() => {})
  }

  private dispatch(channel: string, data: Buffer): void {
    if (data.length < HEADER_BYTES) return
    const handler = this.handlers.get(channel)
    if (!handler) return
    handler({
      kind: data[0]!,
      instance: data.subarray(1, 1 + INSTANCE_BYTES).toString('hex'),
      conn: data.readUInt32BE(1 + INSTANCE_BYTES),
      payload: new Uint8Array(data.buffer, data.byteOffset + HEADER_BYTES, data.length - HEADER_BYTES),
    })
  }

  private header(kind: number, conn: number): Buffer {
    const header = Buffer.alloc(HEADER_BYTES)
    header[0] = kind
    this.instance.copy(header, 1)
    header.writeUInt32BE(conn >>> 0, 1 + INSTANCE_BYTES)
    return header
  }

  /** Sends presence (or a query for it) to the other instances serving the room; not stored. */
  async publish(room: string, kind: typeof BUS_AWARENESS | typeof BUS_QUERY_AWARENESS, conn: number, payload: Uint8Array): Promise<void> {
    await this.cmd.publish(keysOf(room).channel, Buffer.concat([this.header(kind, conn), payload]))
  }

  /**
   * Appends an update to the room's stream and relays it to every instance (this one included),
   * in that order, atomically, unless it could take the document past `limit` bytes: then
   * nothing is appended and the answer is false. When this resolves true the update is in Redis;
   * how safe it is there is Redis's appendfsync setting (docs/sync.md).
   */
  async append(room: string, conn: number, update: Uint8Array, limit: number): Promise<boolean> {
    const keys = keysOf(room)
    const bytes = toBuffer(update)
    const header = this.header(BUS_UPDATE, conn)
    for (let attempt = 0; ; attempt++) {
      const length = await this.cmd.tabulaAppend(keys.updates, keys.size, bytes, header, keys.channel, limit)
      if (length >= 0) {
        if (length >= COMPACT_AFTER_UPDATES) void this.compact(room)
        return true
      }
      // Measured just now and still past the limit: refused.
      if (attempt > 0) return false
      await this.measure(room)
    }
  }

  /** Sets the room's size key from the document's exact encoded size (SIZE_SCRIPT). */
  private async measure(room: string): Promise<void> {
    const keys = keysOf(room)
    for (let attempt = 0; attempt < MEASURE_ATTEMPTS; attempt++) {
      const stored = await this.read(room)
      const doc = buildDoc(stored, this.opts.log, room)
      const size = Y.encodeStateAsUpdateV2(doc).length
      doc.destroy()
      const after = stored.updates[stored.updates.length - 1]?.id ?? ''
      if (await this.cmd.tabulaSize(keys.snapshot, keys.updates, keys.size, size, after, stored.upto)) return
    }
    throw new Error(`the size of ${room} could not be measured: compactions kept overtaking it`)
  }

  /** The room's document as Redis holds it now (snapshot and every update after it). */
  async load(room: string): Promise<Y.Doc> {
    return buildDoc(await this.read(room), this.opts.log, room)
  }

  private async read(room: string): Promise<StoredRoom> {
    const keys = keysOf(room)
    // One transaction: a compaction between the two reads would trim updates the old snapshot lacks.
    const replies = await this.cmd
      .multi()
      .hgetBuffer(keys.snapshot, 'state')
      .hget(keys.snapshot, 'upto')
      .xrangeBuffer(keys.updates, '-', '+')
      .exec()
    if (!replies) throw new Error('redis aborted the read')
    for (const [err] of replies) if (err) throw err
    const snapshot = replies[0]![1] as Buffer | null
    const upto = (replies[1]![1] as string | null) ?? ''
    const entries = replies[2]![1] as Array<[Buffer, Buffer[]]>
    const updates: StoredRoom['updates'] = []
    for (const [id, fields] of entries) {
      for (let i = 0; i + 1 < fields.length; i += 2)
        if (fields[i]!.toString() === 'u') updates.push({ id: id.toString(), update: fields[i + 1]! })
    }
    return { snapshot, upto, updates }
  }

  /**
   * Folds the room's stream into its snapshot, if no other instance is doing it (the lease).
   * Merging into a Y.Doc and encoding it again is the compaction: superseded positions and
   * deleted content collapse to the current state.
   */
  async compact(room: string): Promise<void> {
    if (this.compacting.has(room) || !this.up) return
    this.compacting.add(room)
    const keys = keysOf(room)
    const token = randomBytes(16).toString('hex')
    try {
      const got = await this.cmd.set(keys.lease, token, 'PX', COMPACT_LEASE_MS, 'NX')
      if (got !== 'OK') return
      const stored = await this.read(room)
      const last = stored.updates[stored.updates.length - 1]
      if (!last) {
        await this.cmd.del(keys.lease)
        return
      }
      const doc = buildDoc(stored, this.opts.log, room)
      const state = Buffer.from(Y.encodeStateAsUpdateV2(doc))
      doc.destroy()
      const done = await this.cmd.tabulaCompact(
        keys.snapshot,
        keys.updates,
        keys.lease,
        keys.size,
        state,
        last.id,
        token,
        nextStreamId(last.id),
      )
      this.opts.log.debug({ workspace: room, updates: stored.updates.length, bytes: state.length, done }, 'compacted a layout document')
    } catch (err) {
      this.opts.log.warn({ workspace: room, reason: (err as Error).message }, 'compaction failed; the next one will retry')
    } finally {
      this.compacting.delete(room)
    }
  }

  /** Names of every room stored in Redis (for tests and tools; scans, so not for hot paths). */
  async rooms(): Promise<string[]> {
    const names = new Set<string>()
    for (const pattern of [`${PREFIX}{*}:snapshot`, `${PREFIX}{*}:updates`]) {
      let cursor = '0'
      do {
        const [next, keys] = await this.cmd.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
        cursor = next
        for (const key of keys) names.add(key.slice(key.indexOf('{') + 1, key.indexOf('}')))
      } while (cursor !== '0')
    }
    return [...names]
  }

  async close(): Promise<void> {
    this.closed = true
    this.up = false
    this.handlers.clear()
    await Promise.allSettled([this.cmd.quit(), this.sub.quit()])
    this.cmd.disconnect()
    this.sub.disconnect()
  }
}

/**
 * Rebuilds a document from what Redis holds. An update that makes Yjs throw may have been applied
 * halfway, so the document is rebuilt without it rather than used; it is dropped at the next
 * compaction. (Updates are decoded in full before they are appended, so this is a last resort.)
 */
function buildDoc(stored: StoredRoom, log: Logger, room: string): Y.Doc {
  const skip = new Set<number>()
  for (;;) {
    const doc = new Y.Doc()
    // The snapshot is everything compacted so far: one that does not apply is never worked
    // around (compacting without it would lose the document), it fails the load instead.
    if (stored.snapshot) {
      try {
        Y.applyUpdateV2(doc, stored.snapshot)
      } catch (err) {
        doc.destroy()
        throw new Error(`the stored snapshot of ${room} does not apply: ${(err as Error).message}`)
      }
    }
    let failed = -1
    try {
      for (let i = 0; i < stored.updates.length; i++) {
        if (skip.has(i)) continue
        failed = i
        Y.applyUpdate(doc, stored.updates[i]!.update)
      }
      return doc
    } catch (err) {
      doc.destroy()
      log.error({ err, workspace: room, entry: stored.updates[failed]!.id }, 'a stored update does not apply; left out')
      skip.add(failed)
    }
  }
}

/** The smallest stream id after `id` ("ms-seq"): XTRIM MINID keeps ids at or above it. */
export function nextStreamId(id: string): string {
  const [ms, seq] = id.split('-')
  return `${ms}-${BigInt(seq ?? '0') + 1n}`
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparseable url)'
  }
}
