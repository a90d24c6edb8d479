/**
 * The bound on input queued for a program that does not read it (MAX_QUEUED_INPUT_BYTES). A PTY
 * write that the kernel cannot take at once waits in the PTY socket's own buffer, without limit;
 * this asks that buffer how much already waits before adding more. Called from the one place
 * input reaches a PTY (channel.ts), so another PTY backend only needs to expose the same count.
 */
import { MAX_QUEUED_INPUT_BYTES } from '@tabula/protocol'

/**
 * Bytes written to the PTY and not yet taken by the kernel (0 where the backend cannot say): a
 * PTY seam that wraps its library answers `queuedInput()`; node-pty's own object keeps them in
 * its socket's buffer.
 */
export function queuedInput(pty: unknown): number {
  const own = (pty as { queuedInput?: () => number } | null)?.queuedInput
  if (typeof own === 'function') return own.call(pty)
  const socket = (pty as { _socket?: { writableLength?: unknown } } | null)?._socket
  return typeof socket?.writableLength === 'number' ? socket.writableLength : 0
}

/** Null when `bytes` more may be queued for the program, else why not, for an error frame. */
export function inputRefusal(pty: unknown, bytes: number, key: string): string | null {
  const queued = queuedInput(pty)
  if (queued === 0 || queued + bytes <= MAX_QUEUED_INPUT_BYTES) return null
  return `${key} is not reading its input: ${queued} bytes already wait for it (the limit is ${MAX_QUEUED_INPUT_BYTES}); these ${bytes} bytes were not sent`
}
