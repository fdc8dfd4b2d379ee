import { Option } from 'commander'
import { generateKey, installKeyFile, peerIdOf, readKeyFile, writeKeyFile } from '../transports/libp2p/keys.ts'
import type { Command } from 'commander'

export function keyCommands (program: Command): void {
  program.command('keygen')
    .description('create an Ed25519 libp2p private key (file mode 0600) and print its peer id')
    .requiredOption('--out <file>', 'where to write the key; an existing file is never overwritten')
    .action(async (opts: { out: string }) => {
      const key = await generateKey()
      await writeKeyFile(opts.out, key)
      process.stdout.write(peerIdOf(key) + '\n')
    })

  program.command('id')
    .description('print the peer id of a key file')
    .addOption(new Option('--key-file <file>', 'a key written by `mirnet keygen`').env('MIRNET_KEY_FILE').makeOptionMandatory())
    .option('--allow-insecure-key-file', 'accept a key file that group or others can read')
    .action(async (opts: { keyFile: string, allowInsecureKeyFile?: boolean }) => {
      const key = await readKeyFile(opts.keyFile, { allowInsecurePermissions: opts.allowInsecureKeyFile === true })
      process.stdout.write(peerIdOf(key) + '\n')
    })

  program.command('install-key')
    .description('copy a key file (which may be group-readable, like a Kubernetes Secret file) to a 0600 file of the current user, replacing it; prints the peer id')
    .requiredOption('--from <file>', 'the key to copy')
    .requiredOption('--to <file>', 'where `serve --key-file` will read it')
    .action(async (opts: { from: string, to: string }) => {
      process.stdout.write(peerIdOf(await installKeyFile(opts.from, opts.to)) + '\n')
    })
}
