/**
 * The boot pass over legacy v1 layout rows (SPEC §7). STUB: issue 4 implements it.
 * `tabula up` calls it once both the daemon state and the sync store are open.
 */
import type { Logger } from '@tabula/protocol/server'

export async function runBootMigration(_opts: { daemon: unknown; sync: unknown; log: Logger }): Promise<void> {}
