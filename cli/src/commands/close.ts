import type { Command } from 'commander'

// Placeholder: implemented by the issue that owns `tabula close`.
export function registerClose(program: Command): void {
  program
    .command('close')
    .description('(not implemented yet)')
    .action(() => {
      throw new Error('tabula close is not implemented yet')
    })
}
