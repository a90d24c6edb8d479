/**
 * How the PTY seam reads a flood (daemon/src/sessions/pty.ts, EXTRA_READS_PER_TURN): after a
 * long read it reads on in the same event-loop turn instead of one 4 KB read per turn, every byte
 * still in order, and flow control's pause stops it at once, within the turn that asked for it.
 * A real PTY and a real program (`seq`), no mocks.
 */
import { expect, it } from 'vitest'
import { LONG_PTY_READ_BYTES, spawnPty, type OwnedPty } from '../../daemon/src/sessions/pty.js'
import { until } from '../helpers/wait.js'

const LINES = 300_000

it('reads a flood several reads per turn, in order, and a pause inside a read stops the reading in that turn', async () => {
  const chunks: Array<{ turn: number; bytes: Buffer }> = []
  let turn = 0
  let ticker: NodeJS.Immediate | undefined
  const tick = () => {
    turn++
    ticker = setImmediate(tick)
  }
  tick()
  let exited = false
  let pty: OwnedPty | null = null
  let received = 0
  let pausedAt: { turn: number; chunks: number } | null = null
  try {
    pty = spawnPty(
      {
        file: 'sh',
        args: ['-c', `stty -echo; seq 1 ${LINES}`],
        cwd: process.cwd(),
        env: { ...process.env } as Record<string, string>,
        cols: 80,
        rows: 24,
      },
      {
        data(bytes) {
          chunks.push({ turn, bytes: Buffer.from(bytes) })
          received += bytes.length
          // As the mirror does past its high watermark: pause from inside the delivery.
          if (!pausedAt && received > 512 * 1024) {
            pty!.pause()
            pausedAt = { turn, chunks: chunks.length }
            setTimeout(() => pty!.resume(), 50)
          }
        },
        exit: () => (exited = true),
      },
    )
    await until('the program to exit with all its output read', () => exited, 60_000)
  } finally {
    clearImmediate(ticker)
    pty?.dispose()
  }

  // Every number once, in order: no read overtook another, before or after the pause.
  const text = Buffer.concat(chunks.map((c) => c.bytes)).toString('latin1')
  const numbers = text.split('\r\n').filter(Boolean).map(Number)
  expect(numbers.length).toBe(LINES)
  expect(numbers.filter((n, i) => n !== i + 1).slice(0, 5)).toEqual([])

  expect(pausedAt).not.toBeNull()
  const { turn: pauseTurn, chunks: upTo } = pausedAt!

  // Before the pause, several long reads came in one turn (libuv alone reads once a turn; the
  // resume after a pause hands out what node buffered meanwhile at once, so that is not counted).
  const longPerTurn = new Map<number, number>()
  for (const c of chunks.slice(0, upTo))
    if (c.bytes.length >= LONG_PTY_READ_BYTES) longPerTurn.set(c.turn, (longPerTurn.get(c.turn) ?? 0) + 1)
  expect(Math.max(...longPerTurn.values())).toBeGreaterThan(1)

  // Nothing was read after the pause in the turn that paused.
  expect(chunks.slice(upTo).filter((c) => c.turn === pauseTurn)).toEqual([])
}, 90_000)
