import type { Command } from 'commander'

// Placeholder: implemented by the issue that owns `tabula up`.
export function registerUp(program: Command): void {
  program
    .command('up')
    .description('(not implemented yet)')
    .action(() => {
      throw new Error('tabula up is not implemented yet')
    })
}
