import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { plaintext } from '@libp2p/plaintext'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { PROTOCOL_ID } from '../src/transports/libp2p/protocol-id.ts'
import { encodeHeader } from '../src/core/frame-codec.ts'
import { WHOLE, encodeStreamOpening, frameTag, newIncarnation } from '../src/core/link-protocol.ts'
import { generateKey } from '../src/transports/libp2p/keys.ts'
import { startTestDaemon } from './helpers/daemons.ts'
import { eventually } from './helpers/wait.ts'
import type { Daemon } from '../src/daemon/daemon.ts'
import type { ConnectionEncrypter, Libp2p } from '@libp2p/interface'

/** A bare libp2p dialer over TCP + Yamux with the given encrypter. */
async function dialer (encrypter: () => (components: never) => ConnectionEncrypter): Promise<Libp2p> {
  return await createLibp2p({
    privateKey: await generateKey(),
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [encrypter() as never],
    streamMuxers: [yamux()]
  })
}

describe('the libp2p side of a daemon', () => {
  let daemon: Daemon
  let node: Libp2p | undefined

  beforeEach(async () => {
    daemon = await startTestDaemon('a')
  })

  afterEach(async () => {
    await node?.stop()
    node = undefined
    await daemon.stop()
  })

  it('refuses a dialer that offers only plaintext (no Noise): no connection, nothing held', async () => {
    node = await dialer(plaintext)
    const err = await node.dialProtocol(multiaddr(daemon.info.listen[0]), PROTOCOL_ID, { signal: AbortSignal.timeout(20_000) })
      .then(() => undefined, (e: unknown) => e as Error)
    expect(err).toBeInstanceOf(Error)
    expect(err?.name).toBe('EncryptionFailedError')
    expect(node.getConnections()).toEqual([])
    expect(daemon.net.stats().tentative).toEqual([])
  })

  it('accepts the same dialer with Noise, which shows the refusal is the encrypter\'s', async () => {
    node = await dialer(noise)
    const stream = await node.dialProtocol(multiaddr(daemon.info.listen[0]), PROTOCOL_ID, { signal: AbortSignal.timeout(20_000) })
    const payload = new TextEncoder().encode('hello')
    // a v2 hello (3 lanes, nothing retained), then one whole message on lane 0: length, tag byte, payload
    stream.send(encodeStreamOpening(newIncarnation(), [0, 0, 0]))
    stream.send(encodeHeader(1 + payload.byteLength))
    stream.send(Uint8Array.of(frameTag(0, WHOLE)))
    stream.send(payload)
    const held = await eventually('the daemon to hold the non-member\'s message', () => daemon.net.stats().tentative.find(t => t.heldMessages === 1), 20_000)
    expect(held.identity).toBe(node.peerId.toString())
    await stream.close()
  })
})
