import type { Command } from 'commander'

// Placeholder: implemented by the issue that owns `tabula spawn`.
export function registerSpawn(program: Command): void {
  program
    .command('spawn')
    .description('(not implemented yet)')
    .action(() => {
      throw new Error('tabula spawn is not implemented yet')
    })
}
