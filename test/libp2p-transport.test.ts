import { afterEach, describe, expect, it } from '@jest/globals'
import { describeNetworkBehaviour } from './network-behaviour.suite.ts'
import { Libp2pHarness, connectAll } from './helpers/harness.ts'
import { peer } from './helpers/wait.ts'
import type { Libp2pTransport } from '../src/transports/libp2p/libp2p-transport.ts'

describe('NetworkModule over libp2p (TCP + Noise + Yamux on 127.0.0.1)', () => {
  describeNetworkBehaviour(() => new Libp2pHarness())
})

describe('NetworkModule over libp2p: connections', () => {
  const harness = new Libp2pHarness()
  afterEach(async () => { await harness.cleanup() })

  it('two members that connect to each other at once share one connection', async () => {
    const a = await harness.createNode('a')
    const b = await harness.createNode('b')
    await connectAll(a, b)
    const nodeA = (a.transport as Libp2pTransport).node
    const nodeB = (b.transport as Libp2pTransport).node
    expect(nodeA.getConnections().length).toBe(1)
    expect(nodeB.getConnections().length).toBe(1)
    expect(peer(a.module, 'b')).toMatchObject({ state: 'open', inboundOpen: true })
    expect(peer(b.module, 'a')).toMatchObject({ state: 'open', inboundOpen: true })
  })
})
