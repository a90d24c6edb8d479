import type { Command } from 'commander'

// Placeholder: implemented by the issue that owns `tabula import-layouts`.
export function registerImportLayouts(program: Command): void {
  program
    .command('import-layouts')
    .description('(not implemented yet)')
    .action(() => {
      throw new Error('tabula import-layouts is not implemented yet')
    })
}
