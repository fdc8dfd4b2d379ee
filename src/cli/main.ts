import { Command, CommanderError } from 'commander'

/**
 * Each subcommand's module, loaded only when it is the one being run: `serve`
 * does not hold what `cluster` or `k8s` need, and `keygen` does not load the
 * daemon. In help order; docs/configuration.md is generated from them
 * (scripts/config-docs.ts).
 */
export const COMMANDS: Array<[names: string[], define: () => Promise<(program: Command) => void>]> = [
  [['keygen', 'id', 'install-key'], async () => (await import('./keys.ts')).keyCommands],
  [['serve'], async () => (await import('./serve.ts')).serveCommand],
  [['status'], async () => (await import('./status.ts')).statusCommand],
  [['cluster'], async () => (await import('./cluster.ts')).clusterCommand],
  [['k8s'], async () => (await import('./k8s.ts')).k8sCommand]
]

/**
 * The subcommands to define for `argv`: the one named first, or all of them
 * for anything else (`--help`, `help serve`, no or an unknown command), so
 * that help and "unknown command" suggestions list every command.
 */
function commandsFor (argv: string[]): typeof COMMANDS {
  const name = argv[2]
  const named = COMMANDS.filter(([names]) => names.includes(name))
  return named.length > 0 ? named : COMMANDS
}

/** Run the mirnet command line; resolves to the process exit code. */
export async function main (argv: string[]): Promise<number> {
  const program = new Command('mirnet')
    .description('mirnet: a network transport daemon for consensus protocols')
    .showHelpAfterError()
    .exitOverride()
  try {
    const defines = await Promise.all(commandsFor(argv).map(async ([, define]) => await define()))
    for (const define of defines) define(program)
    await program.parseAsync(argv)
    return 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    process.stderr.write(`mirnet: ${(err as Error).message}\n`)
    return 1
  }
}
