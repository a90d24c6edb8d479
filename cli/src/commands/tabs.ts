import type { Command } from 'commander'

// Placeholder: implemented by the issue that owns `tabula tabs`.
export function registerTabs(program: Command): void {
  program
    .command('tabs')
    .description('(not implemented yet)')
    .action(() => {
      throw new Error('tabula tabs is not implemented yet')
    })
}
