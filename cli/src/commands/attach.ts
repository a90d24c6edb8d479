import type { Command } from 'commander'

// Placeholder: implemented by the issue that owns `tabula attach`.
export function registerAttach(program: Command): void {
  program
    .command('attach')
    .description('(not implemented yet)')
    .action(() => {
      throw new Error('tabula attach is not implemented yet')
    })
}
