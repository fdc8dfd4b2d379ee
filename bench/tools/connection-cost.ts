/**
 * CPU per transport connection, without mirnet's core: a listener in a child
 * process and a dialer here, each a `Libp2pTransport` (TCP + Noise + Yamux)
 * or, with `--transport tls`, a `TlsTransport` (TCP + TLS 1.3), `N`
 * connections one after the other (dial, open the mirnet channel, hang up).
 * Prints the CPU per connection of each end. The floor under the scale
 * scenario: a full mesh of n daemons opens n(n-1)/2 connections.
 *
 *   node bench/tools/connection-cost.ts [connections=31] [warm-up connections=0] [--transport libp2p|tls]
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { generateKey } from '../../src/transports/libp2p/keys.ts'
import { Libp2pTransport } from '../../src/transports/libp2p/libp2p-transport.ts'
import { TlsTransport } from '../../src/transports/tls/tls-transport.ts'
import type { Transport } from '../../src/core/transport.ts'

const args = process.argv.slice(2)
const flag = args.indexOf('--transport')
const kind = flag === -1 ? 'libp2p' : args.splice(flag, 2)[1]
if (kind !== 'libp2p' && kind !== 'tls') throw new Error(`--transport must be libp2p or tls, not ${kind}`)

async function create (): Promise<Transport> {
  const privateKey = await generateKey()
  return kind === 'tls'
    ? await TlsTransport.create({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0/tls'] })
    : await Libp2pTransport.create({ privateKey })
}

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000

if (args[0] === '--listener') {
  const t = await create()
  await t.start(() => {})
  process.send?.({ address: t.listenAddresses()[0] })
  process.on('message', (m: string) => {
    if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() })
    else void t.stop().then(() => process.exit(0))
  })
} else {
  const connections = Number(args[0] ?? 31)
  const warmUp = Number(args[1] ?? 0)
  const child = fork(fileURLToPath(import.meta.url), ['--listener', '--transport', kind])
  const next = async <T>(): Promise<T> => await new Promise(resolve => child.once('message', resolve as (m: unknown) => void))
  const { address } = await next<{ address: string }>()
  const listenerCpu = async (): Promise<NodeJS.CpuUsage> => { child.send('cpu'); return (await next<{ cpu: NodeJS.CpuUsage }>()).cpu }
  const dialer = await create()
  await dialer.start(() => {})
  const peer = dialer.parseAddress(address)
  const connect = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      await dialer.dial(address, { signal: AbortSignal.timeout(10_000) })
      await dialer.disconnect(peer)
    }
  }
  await connect(warmUp)
  const d0 = process.cpuUsage()
  const l0 = await listenerCpu()
  const t0 = performance.now()
  await connect(connections)
  const wallMs = performance.now() - t0
  const dialerMs = cpuMs(process.cpuUsage(d0))
  const listenerMs = cpuMs(await listenerCpu()) - cpuMs(l0)
  console.log(`${kind}: ${connections} connections after ${warmUp} warm-up: CPU per connection dialer ${(dialerMs / connections).toFixed(2)} ms, listener ${(listenerMs / connections).toFixed(2)} ms, both ${((dialerMs + listenerMs) / connections).toFixed(2)} ms; wall ${(wallMs / connections).toFixed(2)} ms`)
  child.send('stop')
  await dialer.stop()
}
