import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { createMirnetClient } from '../src/client/client.ts'
import { exchangeMessages, serveDaemon } from './helpers/daemons.ts'
import { Scratch, mirnet, stop } from './helpers/processes.ts'

describe('mirnet serve --transport tls', () => {
  let scratch: Scratch
  beforeEach(() => { scratch = new Scratch() })
  afterEach(async () => { await scratch.cleanup() })

  it('two daemons connect over TLS with their key-derived certificates and move messages both ways', async () => {
    const a = await serveDaemon(scratch, 'a', ['--transport', 'tls'])
    const b = await serveDaemon(scratch, 'b', [], { MIRNET_TRANSPORT: 'tls' })
    for (const { ready } of [a, b]) expect(ready.listen).toEqual([expect.stringMatching(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/tls/p2p/${ready.peerId}$`))])
    const exchange = await exchangeMessages(a.ready, b.ready)
    expect(exchange.aListenAddresses).toEqual(a.ready.listen)
    expect(exchange.atB).toEqual(Array.from({ length: 10 }, (_, i) => `a:a${i}`))
    expect(exchange.atA).toEqual(['b:b0'])
    expect(await stop(a.child)).toBe(0)
    expect(await stop(b.child)).toBe(0)
  })

  it('refuses a libp2p address in a TLS daemon\'s membership, naming the entry', async () => {
    const { ready } = await serveDaemon(scratch, 'a', ['--transport', 'tls'])
    const client = createMirnetClient(ready.api)
    await expect(client.connect({ nodes: [{ id: 'a', address: ready.listen[0] }, { id: 'b', address: `/ip4/127.0.0.1/tcp/1/p2p/${ready.peerId}` }] }))
      .rejects.toThrow(/entry 1 \(node "b"\): address .* has no \/tls after its TCP port/)
  })

  it('refuses an unknown transport', async () => {
    const dir = await scratch.dir()
    const res = await mirnet(['serve', '--state-dir', dir, '--api', '127.0.0.1:0', '--transport', 'quic'])
    expect(res.code).toBe(1)
    expect(res.stderr.split('\n')[0]).toContain('argument \'quic\' is invalid. Allowed choices are libp2p, tls, grpc.')
  })
})
