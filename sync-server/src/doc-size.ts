/**
 * The bound on a layout document's size (MAX_LAYOUT_DOC_BYTES, docs/sync.md "Bounds"): what both
 * room engines tell a client, and the in-process room's estimate (room.ts). The Redis engine
 * keeps its estimate in Redis and checks it in the script that appends (redis/backend.ts), so the
 * bound holds across instances. A document once grew to 98 MB from valid updates and was
 * rewritten whole at every flush. An update that could take it past the bound is refused whole,
 * before any of it is applied or stored, and its sender is closed with the reason (y-websocket
 * has no error message).
 */
import { CLOSE_TOO_BIG, MAX_LAYOUT_DOC_BYTES } from '@tabula/protocol'

export { CLOSE_TOO_BIG }
export const TOO_BIG_REASON = `layout document at its size limit (${MAX_LAYOUT_DOC_BYTES} bytes): update refused`

/**
 * An upper bound of one document's encoded size: exact whenever it is measured (at load, at a
 * save), plus every update applied since (an update never grows the state by more than its own
 * size). The estimate is checked first; only near the bound is the document measured.
 */
export class DocSize {
  private bytes = 0

  constructor(private readonly name: string) {}

  /** The exact encoded size, just measured. */
  measured(bytes: number): void {
    this.bytes = bytes
  }

  /** An update of this size was applied. */
  grew(bytes: number): void {
    this.bytes += bytes
  }

  /**
   * Why an update of `bytes` may not be applied, or null. `measure` gives the document's exact
   * encoded size and is called only near the bound.
   */
  refusal(bytes: number, measure: () => number): string | null {
    if (this.bytes + bytes <= MAX_LAYOUT_DOC_BYTES) return null
    this.bytes = measure()
    if (this.bytes + bytes <= MAX_LAYOUT_DOC_BYTES) return null
    return sizeRefusal(this.name, bytes)
  }
}

/** What the server's log says when an update is refused by the bound. */
export function sizeRefusal(name: string, bytes: number): string {
  return `the layout document of ${name} is at its size limit (${MAX_LAYOUT_DOC_BYTES} bytes); an update of ${bytes} bytes was refused`
}
