import { afterEach, describe, expect, it } from '@jest/globals'
import { Libp2pTransport } from '../src/transports/libp2p/libp2p-transport.ts'
import { generateKey } from '../src/transports/libp2p/keys.ts'
import { eventually } from './helpers/wait.ts'

describe('Libp2pTransport', () => {
  const transports: Libp2pTransport[] = []
  afterEach(async () => {
    await Promise.all(transports.map(async t => { await t.stop() }))
    transports.length = 0
  })

  it('forgets peers once they disconnect: strangers cannot grow the peer store without bound', async () => {
    const server = await Libp2pTransport.create({ privateKey: await generateKey() })
    transports.push(server)
    await server.start(channel => { channel.abort(new Error('not needed')) })
    for (let i = 0; i < 5; i++) {
      const stranger = await Libp2pTransport.create({ privateKey: await generateKey() })
      transports.push(stranger)
      await stranger.start(channel => { channel.abort(new Error('not needed')) })
      await stranger.dial(server.listenAddresses()[0], { signal: AbortSignal.timeout(10_000) }).catch(() => undefined)
      await eventually('the stranger to be connected', () => server.node.getConnections().length > 0)
      await stranger.stop()
    }
    await eventually('every stranger to be gone', () => server.node.getConnections().length === 0)
    const left = await eventually('the peer store to forget every stranger', async () => (await server.node.peerStore.all()).length, n => n === 0)
    expect(left).toBe(0)
  })
})
