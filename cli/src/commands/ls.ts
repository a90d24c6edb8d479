import type { Command } from 'commander'

// Placeholder: implemented by the issue that owns `tabula ls`.
export function registerLs(program: Command): void {
  program
    .command('ls')
    .description('(not implemented yet)')
    .action(() => {
      throw new Error('tabula ls is not implemented yet')
    })
}
