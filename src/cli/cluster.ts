import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Option } from 'commander'
import { createMirnetClient } from '../client/client.ts'
import { generateKey, writeKeyFile } from '../transports/libp2p/keys.ts'
import { addressForm } from '../transports/multi/address-form.ts'
import { port, positiveInt } from './options.ts'
import { transportOption } from './transport-option.ts'
import type { ChildProcess } from 'node:child_process'
import type { Command } from 'commander'
import type { DaemonInfo } from '../daemon/daemon.ts'
import type { DaemonTransport } from '../daemon/transport-names.ts'

const BIN = fileURLToPath(new URL('../../bin/mirnet.ts', import.meta.url))

/** A daemon of the cluster did not start or died. */
export class ClusterError extends Error {
  override name = 'ClusterError'
}

interface ClusterOptions {
  nodes: number
  basePort: number
  logLevel: string
  workDir: string
  transport: DaemonTransport[]
}

export function clusterCommand (program: Command): void {
  program.command('cluster')
    .description('start N local daemons with fresh keys, connected to each other; Ctrl-C stops them all')
    .addOption(new Option('--nodes <n>', 'how many daemons').argParser(positiveInt).default(3))
    .addOption(new Option('--base-port <port>', 'API port of node-0; node-i listens on base+i').argParser(port).default(7070))
    .addOption(new Option('--log-level <level>', 'log level of the daemons (their logs go to stderr)').default('warn'))
    .addOption(transportOption('transport(s) between the daemons: libp2p, tls or grpc, or several (comma-separated or repeated, see mirnet serve --transport): every daemon listens on each, and the membership lists every daemon at its address of the first'))
    .addOption(new Option('--work-dir <dir>', 'where the cluster makes its folder of fresh keys, removed when it stops').default(tmpdir(), 'the system temp folder'))
    .addHelpText('after', `
With several transports (--transport tls,libp2p) every daemon listens on all of
them, and each is listed in the membership at its address of the first named
(so they connect over it); the others stay open for daemons started by hand
with the cluster's addresses (the "listen" of the ready line).
It prints one JSON line, {"event":"ready","nodes":[{"nodeId","peerId","listen","api","pid"}…]},
then the API addresses and a buf curl example to paste. The daemons take the
MIRNET_* settings of this environment (MIRNET_LANES, MIRNET_DEFAULT_LANE,
MIRNET_WINDOW_BYTES…), except the API's token and TLS settings.`)
    .action(async (opts: ClusterOptions) => { await runCluster(opts) })
}

/**
 * This environment without the API's token and TLS settings: the cluster's
 * daemons serve loopback only, and the cluster calls them without credentials.
 */
function loopbackApiEnv (): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const name of Object.keys(env)) {
    if (/^MIRNET_(API_TOKEN_FILE|API_TLS_|ALLOW_INSECURE_API_)/.test(name)) delete env[name]
  }
  return env
}

/** Start one daemon as a child process; resolves with its ready line. */
async function startDaemon (nodeId: string, keyFile: string, api: string, opts: ClusterOptions, children: ChildProcess[]): Promise<DaemonInfo> {
  const args = ['serve', '--node-id', nodeId, '--key-file', keyFile, '--api', api, '--log-level', opts.logLevel, '--transport', opts.transport.join(',')]
  const child = spawn(process.execPath, [BIN, ...args], {
    // stdin stays open while this process lives: a daemon stops when it ends
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...loopbackApiEnv(), MIRNET_STOP_WITH_PARENT: '1' }
  })
  children.push(child)
  const lines = createInterface({ input: child.stdout })
  return await new Promise<DaemonInfo>((resolve, reject) => {
    child.once('exit', code => { reject(new ClusterError(`${nodeId} exited with code ${code} before it was ready`)) })
    lines.once('line', line => {
      try {
        const { event, ...info } = JSON.parse(line) as DaemonInfo & { event: string }
        if (event !== 'ready') throw new Error(`unexpected first line: ${line}`)
        resolve(info)
      } catch (err) {
        reject(new ClusterError(`${nodeId}: ${(err as Error).message}`))
      }
    })
  })
}

/** Where the membership lists a daemon: its first listen address of `transport`. */
function memberAddress (info: DaemonInfo, transport: DaemonTransport): string {
  const address = info.listen.find(a => addressForm(a) === transport)
  if (address === undefined) throw new ClusterError(`${info.nodeId} listens on no ${transport} address (${info.listen.join(', ')})`)
  return address
}

async function stopAll (children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map(async child => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }))
}

async function runCluster (opts: ClusterOptions): Promise<void> {
  const dir = await mkdtemp(join(opts.workDir, 'mirnet-cluster-'))
  const children: ChildProcess[] = []
  let failed: Error | undefined
  // `on`, not `once`: a second signal while the daemons stop (Ctrl-C under npm
  // arrives from the terminal and forwarded by npm) must not kill this process
  // before it has stopped them and removed its folder
  const stopped = new Promise<string>(resolve => {
    process.on('SIGINT', () => { resolve('SIGINT') })
    process.on('SIGTERM', () => { resolve('SIGTERM') })
  })
  try {
    const infos = await Promise.all(Array.from({ length: opts.nodes }, async (_, i) => {
      const nodeId = `node-${i}`
      const keyFile = join(dir, `${nodeId}.key`)
      await writeKeyFile(keyFile, await generateKey())
      return await startDaemon(nodeId, keyFile, `127.0.0.1:${opts.basePort + i}`, opts, children)
    }))
    const nodes = infos.map(info => ({ id: info.nodeId, address: memberAddress(info, opts.transport[0]) }))
    const clients = infos.map(info => createMirnetClient(info.api))
    await Promise.all(clients.map(async c => await c.connect({ nodes })))
    await Promise.all(clients.map(async c => await c.awaitConnections({ minConnected: opts.nodes }, { timeoutMs: 30_000 })))
    process.stdout.write(JSON.stringify({ event: 'ready', nodes: infos }) + '\n')
    process.stdout.write(describe(infos))
    const died = new Promise<string>(resolve => {
      for (const [i, child] of children.entries()) child.once('exit', code => { resolve(`node-${i} exited with code ${code}`) })
    })
    const why = await Promise.race([stopped, died])
    if (!why.startsWith('SIG')) failed = new ClusterError(why)
  } catch (err) {
    failed = err as Error
  } finally {
    await stopAll(children)
    await rm(dir, { recursive: true, force: true })
  }
  if (failed !== undefined) throw failed
}

function describe (infos: DaemonInfo[]): string {
  const [first, second] = infos
  const to = second ?? first
  const lines = [
    '',
    `${infos.length} mirnet daemons are running and connected:`,
    ...infos.map(i => `  ${i.nodeId}  API ${i.api}  peer ${i.peerId}`),
    '',
    `Send "hello" from ${first.nodeId} to ${to.nodeId} (payload is base64):`,
    `  npx buf curl --protocol grpc --http2-prior-knowledge -d '{"messages":[{"destinations":["${to.nodeId}"],"payload":"aGVsbG8="}]}' http://${first.api}/mirnet.v1.TransportService/Send`,
    `Receive on ${to.nodeId} (streams until Ctrl-C):`,
    `  npx buf curl --protocol grpc --http2-prior-knowledge http://${to.api}/mirnet.v1.TransportService/Receive`,
    `Watch ${first.nodeId}'s members, lanes and rates (Ctrl-C stops):`,
    `  npx mirnet status --watch --api ${first.api}`,
    '',
    'Ctrl-C stops them all.',
    ''
  ]
  return lines.join('\n')
}
