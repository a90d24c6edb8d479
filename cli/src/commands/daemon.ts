import type { Command } from 'commander'

// Placeholder: implemented by the issue that owns `tabula daemon`.
export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description('(not implemented yet)')
    .action(() => {
      throw new Error('tabula daemon is not implemented yet')
    })
}
