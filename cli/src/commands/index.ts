import type { Command } from 'commander'
import { registerUp } from './up.js'
import { registerDaemon } from './daemon.js'
import { registerSync } from './sync.js'
import { registerLs } from './ls.js'
import { registerSpawn } from './spawn.js'
import { registerClose } from './close.js'
import { registerTabs } from './tabs.js'
import { registerAttach } from './attach.js'
import { registerImportLayouts } from './import-layouts.js'
import { registerRm } from './rm.js'
import { registerPair } from './pair.js'

/** Every `tabula` subcommand, in the order `--help` lists them. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerUp,
  registerDaemon,
  registerSync,
  registerLs,
  registerSpawn,
  registerClose,
  registerRm,
  registerTabs,
  registerAttach,
  registerImportLayouts,
  registerPair,
]
