import { Command, CommanderError } from 'commander'
import { clusterCommand } from './cluster.ts'
import { k8sCommand } from './k8s.ts'
import { keyCommands } from './keys.ts'
import { serveCommand } from './serve.ts'

/** Run the mirnet command line; resolves to the process exit code. */
export async function main (argv: string[]): Promise<number> {
  const program = new Command('mirnet')
    .description('mirnet: a network transport daemon for consensus protocols')
    .showHelpAfterError()
    .exitOverride()
  keyCommands(program)
  serveCommand(program)
  clusterCommand(program)
  k8sCommand(program)
  try {
    await program.parseAsync(argv)
    return 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    process.stderr.write(`mirnet: ${(err as Error).message}\n`)
    return 1
  }
}
