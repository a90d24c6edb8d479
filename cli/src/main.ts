import { Command } from 'commander'
import { COMMANDS } from './commands/index.js'
import { VERSION } from './version.js'

/** Builds the `tabula` program. Each command lives in its own module under commands/. */
export function buildProgram(): Command {
  const program = new Command('tabula')
    .description('Terminal tabs that exist once: a PTY daemon, a shared layout, and the viewers that join them.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
  for (const register of COMMANDS) register(program)
  return program
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv)
}
