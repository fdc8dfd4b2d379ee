import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from '@jest/globals'
import { Code } from '@connectrpc/connect'
import { createMirnetClient, receiveMessages } from '../src/client/client.ts'
import type { MirnetClient } from '../src/client/client.ts'
import { silentLogger } from '../src/core/logger.ts'
import { Daemon } from '../src/daemon/daemon.ts'
import { assignListenAddresses, transportList } from '../src/daemon/listen-addresses.ts'
import { generateKey } from '../src/transports/libp2p/keys.ts'
import { addressForm } from '../src/transports/multi/address-form.ts'
import { freePort } from './helpers/processes.ts'
import { codeOf } from './helpers/rpc.ts'
import type { DaemonTransport } from '../src/daemon/transport-names.ts'

const ID = '12D3KooWSmc3oNnZqgJtqCfqPugLzd2rE9F8GXQZf8uFVqvCSE3s'
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

/** The next message a daemon receives, as `from:payload`. */
async function take (client: MirnetClient): Promise<string> {
  for await (const m of receiveMessages(client)) return `${m.from}:${new TextDecoder().decode(m.payload)}`
  throw new Error('the Receive stream ended')
}

describe('assignListenAddresses', () => {
  const plan = (transports: DaemonTransport[], listen: string[]): Record<string, string[]> =>
    Object.fromEntries(assignListenAddresses(transports, listen))

  it('gives each address to the transport of its form, in the order of the transports, and the default to a transport given none', () => {
    expect(plan(['tls', 'libp2p', 'grpc'], ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/tls', '/ip6/::/tcp/4001']))
      .toEqual({ tls: ['/ip4/0.0.0.0/tcp/4002/tls'], libp2p: ['/ip4/0.0.0.0/tcp/4001', '/ip6/::/tcp/4001'], grpc: ['/ip4/127.0.0.1/tcp/0/tls/http'] })
    expect(Object.keys(plan(['tls', 'libp2p'], []))).toEqual(['tls', 'libp2p'])
    expect(plan(['libp2p', 'tls'], [])).toEqual({ libp2p: ['/ip4/127.0.0.1/tcp/0'], tls: ['/ip4/127.0.0.1/tcp/0/tls'] })
  })

  it('with one transport gives it every address as before: a bare /tcp/N to TLS, and one of no known form for the transport to judge', () => {
    expect(plan(['tls'], ['/ip4/0.0.0.0/tcp/4001'])).toEqual({ tls: ['/ip4/0.0.0.0/tcp/4001'] })
    expect(plan(['libp2p'], ['/ip4/0.0.0.0/udp/1/quic-v1'])).toEqual({ libp2p: ['/ip4/0.0.0.0/udp/1/quic-v1'] })
    expect(plan(['grpc'], [])).toEqual({ grpc: ['/ip4/127.0.0.1/tcp/0/tls/http'] })
  })

  it('refuses an address of a transport not named, saying which form it is and what runs', () => {
    const refused = (transports: DaemonTransport[], address: string): unknown => {
      try {
        assignListenAddresses(transports, [address])
      } catch (err) {
        return err
      }
      throw new Error('not refused')
    }
    expect(refused(['libp2p'], '/ip4/0.0.0.0/tcp/1/tls')).toMatchObject({
      name: 'ListenAddressError',
      message: expect.stringContaining('listen address "/ip4/0.0.0.0/tcp/1/tls" is a tls address, but the transports are libp2p')
    })
    expect(refused(['tls', 'grpc'], '/ip4/0.0.0.0/tcp/1')).toMatchObject({ name: 'ListenAddressError', message: expect.stringContaining('is a libp2p address, but the transports are tls, grpc') })
    expect(refused(['libp2p', 'tls'], '/ip4/0.0.0.0/udp/1/quic-v1')).toMatchObject({ name: 'ListenAddressError', message: expect.stringContaining('is of no transport\'s form') })
  })
})

describe('transportList', () => {
  it('takes one name or several, and refuses a repeat or none', () => {
    expect(transportList(undefined)).toEqual(['libp2p'])
    expect(transportList('grpc')).toEqual(['grpc'])
    expect(transportList(['tls', 'libp2p'])).toEqual(['tls', 'libp2p'])
    expect(() => transportList(['tls', 'libp2p', 'tls'])).toThrow(expect.objectContaining({ name: 'DuplicateTransportError', message: 'transport "tls" is named twice' }))
    expect(() => transportList([])).toThrow(expect.objectContaining({ name: 'DaemonConfigError' }))
  })
})

describe('a daemon on libp2p and TLS', () => {
  const daemons: Daemon[] = []
  afterEach(async () => {
    await Promise.all(daemons.map(async d => { await d.stop() }))
    daemons.length = 0
  })

  async function start (nodeId: string, transport: DaemonTransport[], listen?: string[]): Promise<Daemon> {
    const d = await Daemon.start({ nodeId, privateKey: await generateKey(), transport, listen, apiHost: '127.0.0.1', apiPort: 0, logger: silentLogger })
    daemons.push(d)
    return d
  }

  it('lists the addresses of both in GetInfo, each naming its peer id', async () => {
    const d = await start('a', ['libp2p', 'tls'])
    const info = await createMirnetClient(d.info.api).getInfo({})
    expect(info.listenAddresses).toEqual(d.info.listen)
    expect(info.listenAddresses.map(addressForm)).toEqual(['libp2p', 'tls'])
    for (const a of info.listenAddresses) expect(a).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+(/tls)?/p2p/${d.info.peerId}$`))
  })

  it('refuses, with INVALID_ARGUMENT naming the entry, a member at a gRPC address, and keeps the membership it had', async () => {
    const d = await start('a', ['libp2p', 'tls'])
    const client = createMirnetClient(d.info.api)
    const res = await codeOf(client.connect({ nodes: [{ id: 'a', address: d.info.listen[1] }, { id: 'b', address: `/ip4/127.0.0.1/tcp/1/tls/http/p2p/${ID}` }] }))
    expect(res.code).toBe(Code.InvalidArgument)
    expect(res.message).toBe(`entry 1 (node "b"): address "/ip4/127.0.0.1/tcp/1/tls/http/p2p/${ID}" is a grpc address; this node runs libp2p, tls`)
    expect((await client.getStatus({})).peers.map(p => p.nodeId)).toEqual(['a'])
    // the daemon goes on: a membership of the forms it runs is taken
    await client.connect({ nodes: [{ id: 'a', address: d.info.listen[0] }, { id: 'b', address: `/ip4/127.0.0.1/tcp/1/tls/p2p/${ID}` }] })
    expect((await client.getStatus({})).peers.map(p => p.nodeId).sort()).toEqual(['a', 'b'])
  })

  it('exchanges messages with a daemon on both that it lists at TLS while that one lists it at libp2p (a membership half moved)', async () => {
    const [a, b] = await Promise.all([start('a', ['libp2p', 'tls']), start('b', ['libp2p', 'tls'])])
    const [ca, cb] = [a, b].map(d => createMirnetClient(d.info.api))
    const [aLibp2p, bTls] = [a.info.listen[0], b.info.listen[1]]
    expect([addressForm(aLibp2p), addressForm(bTls)]).toEqual(['libp2p', 'tls'])
    await ca.connect({ nodes: [{ id: 'a', address: aLibp2p }, { id: 'b', address: bTls }] })
    await cb.connect({ nodes: [{ id: 'a', address: aLibp2p }, { id: 'b', address: b.info.listen[0] }] })
    await Promise.all([ca, cb].map(async c => { await c.awaitConnections({ minConnected: 2 }, { timeoutMs: 20_000 }) }))
    await ca.send({ messages: [{ destinations: ['b'], payload: text('to b over TLS') }] })
    await cb.send({ messages: [{ destinations: ['a'], payload: text('to a over libp2p') }] })
    expect(await take(cb)).toBe('a:to b over TLS')
    expect(await take(ca)).toBe('b:to a over libp2p')
  })

  it('fails to start, leaving nothing listening, when the port of its second transport is taken', async () => {
    const first = await start('a', ['tls'])
    const port = /\/tcp\/(\d+)\//.exec(first.info.listen[0])?.[1] as string
    const libp2pPort = await freePort()
    const err = await Daemon.start({
      nodeId: 'b',
      privateKey: await generateKey(),
      transport: ['libp2p', 'tls'],
      listen: [`/ip4/127.0.0.1/tcp/${libp2pPort}`, `/ip4/127.0.0.1/tcp/${port}/tls`],
      apiHost: '127.0.0.1',
      apiPort: 0,
      logger: silentLogger
    }).then(d => { daemons.push(d); return undefined }, (e: unknown) => e)
    expect(err).toMatchObject({ code: 'EADDRINUSE' })
    // the libp2p listener that had started is closed again: its port can be bound
    const server = createServer()
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(libp2pPort, '127.0.0.1', resolve) })
    await new Promise<void>(resolve => { server.close(() => { resolve() }) })
  })
})
