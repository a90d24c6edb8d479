import type { Command } from 'commander'

// Placeholder: implemented by the issue that owns `tabula sync`.
export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('(not implemented yet)')
    .action(() => {
      throw new Error('tabula sync is not implemented yet')
    })
}
