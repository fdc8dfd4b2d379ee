import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { createMirnetClient, receiveMessages } from '../src/client/client.ts'
import { exchangeMessages, serveDaemon } from './helpers/daemons.ts'
import { Scratch, firstLine, freePort, stop } from './helpers/processes.ts'
import type { Ready } from './helpers/processes.ts'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)

describe('mirnet serve --transport grpc', () => {
  let scratch: Scratch
  beforeEach(() => { scratch = new Scratch() })
  afterEach(async () => { await scratch.cleanup() })

  it('two daemons connect over gRPC with their key-derived certificates and move messages both ways', async () => {
    const a = await serveDaemon(scratch, 'a', ['--transport', 'grpc'])
    const b = await serveDaemon(scratch, 'b', [], { MIRNET_TRANSPORT: 'grpc' })
    for (const { ready } of [a, b]) expect(ready.listen).toEqual([expect.stringMatching(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/tls/http/p2p/${ready.peerId}$`))])
    const exchange = await exchangeMessages(a.ready, b.ready)
    expect(exchange.aListenAddresses).toEqual(a.ready.listen)
    expect(exchange.atB).toEqual(Array.from({ length: 10 }, (_, i) => `a:a${i}`))
    expect(exchange.atA).toEqual(['b:b0'])
    expect(await stop(a.child)).toBe(0)
    expect(await stop(b.child)).toBe(0)
  })

  it('mirnet cluster --transport grpc starts daemons connected over gRPC', async () => {
    const basePort = await freePort()
    const cluster = scratch.spawn(['cluster', '--nodes', '2', '--base-port', String(basePort), '--transport', 'grpc'])
    const ready = await firstLine<{ nodes: Ready[] }>(cluster, 60_000)
    for (const n of ready.nodes) expect(n.listen).toEqual([expect.stringMatching(new RegExp(`/tls/http/p2p/${n.peerId}$`))])
    const [c0, c1] = ready.nodes.map(n => createMirnetClient(n.api))
    expect((await c0.getStatus({})).totals?.connected).toBe(2)
    await c0.send({ messages: [{ destinations: ['node-1'], payload: text('hi') }] })
    for await (const m of receiveMessages(c1)) {
      expect([m.from, str(m.payload)]).toEqual(['node-0', 'hi'])
      break
    }
    expect(await stop(cluster, 'SIGINT')).toBe(0)
  })

  it('refuses a TLS transport address in a gRPC daemon\'s membership, naming the entry', async () => {
    const { ready } = await serveDaemon(scratch, 'a', ['--transport', 'grpc'])
    const client = createMirnetClient(ready.api)
    await expect(client.connect({ nodes: [{ id: 'a', address: ready.listen[0] }, { id: 'b', address: `/ip4/127.0.0.1/tcp/1/tls/p2p/${ready.peerId}` }] }))
      .rejects.toThrow(/entry 1 \(node "b"\): address .* has no \/tls\/http after its TCP port/)
  })
})
