import { connect as tcpConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { afterEach, describe, expect, it } from '@jest/globals'
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire'
import * as grpc from '@grpc/grpc-js'
import { describeNetworkBehaviour } from './network-behaviour.suite.ts'
import { GrpcHarness, membershipOf } from './helpers/harness.ts'
import { eventually } from './helpers/wait.ts'
import { encodeStreamOpening, newIncarnation } from '../src/core/link-protocol.ts'
import { generateKey, peerIdOf } from '../src/transports/libp2p/keys.ts'
import { createIdentityCertificate } from '../src/transports/tls/certificate.ts'
import { LINK_SERVICE_PATH } from '../src/transports/grpc/grpc-call.ts'
import { GrpcMessageDecoder, encodeMessagePrefix } from '../src/transports/grpc/grpc-message.ts'
import { parseGrpcAddress } from '../src/transports/grpc/grpc-address.ts'
import { GrpcTransport } from '../src/transports/grpc/grpc-transport.ts'
import type { Socket } from 'node:net'
import type { Channel } from '../src/core/transport.ts'
import type { PrivateKey } from '@libp2p/interface'

describe('NetworkModule over gRPC (HTTP/2 + TLS 1.3, Ed25519 certificates, on 127.0.0.1)', () => {
  describeNetworkBehaviour(() => new GrpcHarness())
})

/** A StreamRequest { bytes data = 1 } encoded by @bufbuild/protobuf, independently of the transport's hand-written prefix. */
function streamRequest (data: Uint8Array): Buffer {
  return Buffer.from(new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(data).finish())
}

function target (address: string): string {
  const { host, port } = parseGrpcAddress(address, false)
  return `${host}:${port}`
}

/** Resolves when the socket closes, with the error it saw, if any. */
async function closed (socket: Socket): Promise<Error | undefined> {
  return await new Promise(resolve => {
    let error: Error | undefined
    socket.on('error', err => { error ??= err })
    socket.once('close', () => { resolve(error) })
  })
}

describe('GrpcMessageDecoder', () => {
  const decode = (chunks: Uint8Array[], max = 1024): Buffer => {
    const decoder = new GrpcMessageDecoder(max)
    const out: Uint8Array[] = []
    for (const c of chunks) decoder.push(c, data => { out.push(Buffer.from(data)) })
    expect(decoder.partial).toBe(false)
    return Buffer.concat(out)
  }

  it('reads what @bufbuild/protobuf encodes, split at every byte, and what the prefix encodes', () => {
    const data = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 251))
    const framed = (message: Buffer): Buffer => {
      const prefix = Buffer.alloc(5)
      prefix.writeUInt32BE(message.byteLength, 1)
      return Buffer.concat([prefix, message])
    }
    const wire = Buffer.concat([framed(streamRequest(data)), framed(Buffer.alloc(0)), framed(streamRequest(data.subarray(0, 5)))])
    expect(decode([wire])).toEqual(Buffer.concat([data, data.subarray(0, 5)]))
    expect(decode([...wire].map(b => Uint8Array.of(b)))).toEqual(Buffer.concat([data, data.subarray(0, 5)]))
    for (const n of [1, 127, 128, 16_383, 16_384, 70_000]) {
      const payload = Buffer.alloc(n, 7)
      expect(Buffer.concat([encodeMessagePrefix(n), payload])).toEqual(framed(streamRequest(payload)))
    }
  })

  it('refuses compressed, oversized and foreign messages', () => {
    const push = (bytes: number[], max = 1024): void => { new GrpcMessageDecoder(max).push(Uint8Array.from(bytes), () => {}) }
    const named = expect.objectContaining({ name: 'GrpcMessageError' })
    expect(() => { push([1, 0, 0, 0, 2, 0x0a, 0]) }).toThrow(named)
    expect(() => { push([0, 0, 1, 0, 0]) }).toThrow(named)
    expect(() => { push([0, 0, 0, 0, 2, 0x12, 0]) }).toThrow(named)
    // length says 3, the field holds 5
    expect(() => { push([0, 0, 0, 0, 3, 0x0a, 5, 1]) }).toThrow(named)
  })
})

describe('GrpcTransport', () => {
  const options = { handshakeTimeoutMs: 300, maxPendingHandshakes: 2 }
  const transports: GrpcTransport[] = []
  const sockets: Socket[] = []
  const clients: grpc.Client[] = []
  const harnesses: GrpcHarness[] = []
  afterEach(async () => {
    for (const c of clients) c.close()
    clients.length = 0
    for (const s of sockets) s.destroy()
    sockets.length = 0
    await Promise.all(transports.map(async t => { await t.stop() }))
    transports.length = 0
    await Promise.all(harnesses.map(async h => { await h.cleanup() }))
    harnesses.length = 0
  })

  async function start (key?: PrivateKey): Promise<{ transport: GrpcTransport, accepted: Channel[] }> {
    const accepted: Channel[] = []
    const transport = await GrpcTransport.create({ ...options, privateKey: key ?? await generateKey() })
    transports.push(transport)
    await transport.start(channel => { accepted.push(channel) })
    return { transport, accepted }
  }

  /** A grpc-js client to `address`, with the key-derived certificate of `key` or none. */
  async function grpcClient (address: string, key?: PrivateKey): Promise<grpc.Client> {
    const pair = key === undefined ? undefined : await createIdentityCertificate(key)
    // no CA: the server's certificate is self-signed, its key is what counts
    const credentials = grpc.credentials.createSsl(null, pair === undefined ? null : Buffer.from(pair.keyPem), pair === undefined ? null : Buffer.from(pair.certPem), {
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined
    })
    // a name for SNI: grpc-js would send the IP address, which TLS does not allow
    const client = new grpc.Client(target(address), credentials, { 'grpc.ssl_target_name_override': 'mirnet' })
    clients.push(client)
    return client
  }

  /** A bidi call of `path` with raw (already protobuf-encoded) messages. */
  function call (client: grpc.Client, path = LINK_SERVICE_PATH): grpc.ClientDuplexStream<Buffer, Buffer> {
    return client.makeBidiStreamRequest(path, (b: Buffer) => b, (b: Buffer) => b)
  }

  async function status (stream: grpc.ClientDuplexStream<Buffer, Buffer>): Promise<grpc.StatusObject> {
    stream.on('data', () => {})
    return await new Promise(resolve => {
      stream.on('error', () => {})
      stream.once('status', resolve)
    })
  }

  describe('addresses', () => {
    it('parses /ip4|ip6|dns…/tcp/<port>/tls/http/p2p/<peer id> and names the identity', async () => {
      const { transport: t } = await start()
      const [address] = t.listenAddresses()
      expect(address).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/tls\/http\/p2p\/12D3KooW/)
      expect(t.parseAddress(address)).toBe(t.localIdentity)
      expect(t.parseAddress(`/dns4/node-1.example/tcp/443/tls/http/p2p/${t.localIdentity}`)).toBe(t.localIdentity)
      expect(t.parseAddress(`/ip6/::1/tcp/9000/tls/http/p2p/${t.localIdentity}`)).toBe(t.localIdentity)
    })

    it('refuses the libp2p and TLS forms and others with the named errors', async () => {
      const { transport: t } = await start()
      const id = t.localIdentity
      const invalid = expect.objectContaining({ name: 'InvalidAddressError' })
      expect(() => t.parseAddress('/ip4/127.0.0.1/tcp/9000/tls/http')).toThrow(expect.objectContaining({ name: 'MissingPeerIdError' }))
      expect(() => t.parseAddress(`/ip4/127.0.0.1/tcp/9000/p2p/${id}`)).toThrow(invalid)
      expect(() => t.parseAddress(`/ip4/127.0.0.1/tcp/9000/tls/p2p/${id}`)).toThrow(invalid)
      expect(() => t.parseAddress(`/ip4/127.0.0.1/tcp/9000/https/p2p/${id}`)).toThrow(invalid)
      expect(() => t.parseAddress('not an address')).toThrow(invalid)
      expect(() => t.parseAddress('/ip4/127.0.0.1/tcp/9000/tls/http/p2p/notapeerid')).toThrow(invalid)
      await expect(GrpcTransport.create({ privateKey: await generateKey(), listen: ['/ip4/127.0.0.1/tcp/0/tls'] })).rejects.toMatchObject({ name: 'InvalidAddressError' })
    })
  })

  describe('authentication', () => {
    it('reports the peer id of each end\'s certificate as remoteIdentity, on both sides', async () => {
      const { transport: server, accepted } = await start()
      const { transport: client } = await start()
      const channel = await client.dial(server.listenAddresses()[0], { signal: AbortSignal.timeout(5000) })
      expect(channel.remoteIdentity).toBe(server.localIdentity)
      await eventually('the server to accept', () => accepted.length === 1)
      expect(accepted[0].remoteIdentity).toBe(client.localIdentity)
    })

    it('a dial that expects identity X but reaches a node with key Y fails with IdentityMismatchError, before any call', async () => {
      const { transport: y, accepted } = await start()
      const { transport: x } = await start()
      const { transport: client } = await start()
      const address = y.listenAddresses()[0].replace(y.localIdentity, x.localIdentity)
      await expect(client.dial(address, { signal: AbortSignal.timeout(5000) })).rejects.toMatchObject({ name: 'IdentityMismatchError' })
      expect(accepted).toEqual([])
      const channel = await client.dial(y.listenAddresses()[0], { signal: AbortSignal.timeout(5000) })
      expect(channel.remoteIdentity).toBe(y.localIdentity)
    })

    it('speaks gRPC: a grpc-js client with a key-derived certificate is accepted, its messages\' data arrive as the channel\'s bytes', async () => {
      const { transport: server, accepted } = await start()
      const key = await generateKey()
      const client = await grpcClient(server.listenAddresses()[0], key)
      const stream = call(client)
      stream.write(streamRequest(Buffer.from('hello ')))
      stream.write(streamRequest(Buffer.from('over grpc-js')))
      await eventually('the server to accept', () => accepted.length === 1)
      const channel = accepted[0]
      expect(channel.remoteIdentity).toBe(peerIdOf(key))
      const got: Buffer[] = []
      let ended = false
      channel.setHandler({ onData: d => { got.push(Buffer.from(d.subarray())) }, onDrain: () => {}, onIdle: () => {}, onEnd: () => { ended = true }, onClose: () => {} })
      stream.end()
      await eventually('the end of the request stream', () => ended)
      expect(Buffer.concat(got).toString()).toBe('hello over grpc-js')
      // the acceptor's bytes reach the client as StreamResponse messages, and the call ends with status OK
      const responses: Buffer[] = []
      stream.on('data', (m: Buffer) => { responses.push(m) })
      const done = new Promise<grpc.StatusObject>(resolve => { stream.once('status', resolve) })
      channel.send(Buffer.from('ack'))
      await channel.close()
      expect((await done).code).toBe(grpc.status.OK)
      expect(Buffer.concat(responses)).toEqual(streamRequest(Buffer.from('ack')))
    })

    it('refuses a plain gRPC client without a certificate, and never hands it to the core', async () => {
      const { transport: server, accepted } = await start()
      const client = await grpcClient(server.listenAddresses()[0])
      const s = await status(call(client))
      expect(s.code).toBe(grpc.status.UNAVAILABLE)
      expect(accepted).toEqual([])
    })

    it('answers a call of another method with UNIMPLEMENTED, and hands nothing to the core', async () => {
      const { transport: server, accepted } = await start()
      const client = await grpcClient(server.listenAddresses()[0], await generateKey())
      const s = await status(call(client, '/mirnet.v1.TransportService/Send'))
      expect(s.code).toBe(grpc.status.UNIMPLEMENTED)
      expect(accepted).toEqual([])
    })

    it('holds a non-member with a valid certificate as tentative: its messages are never delivered as a member\'s', async () => {
      const harness = new GrpcHarness()
      harnesses.push(harness)
      const a = await harness.createNode('a')
      const b = await harness.createNode('b')
      a.module.connect(membershipOf(a, b))
      const stranger = await generateKey()
      const strangerId = peerIdOf(stranger)
      const stream = call(await grpcClient(a.address, stranger))
      stream.on('data', () => {})
      stream.on('error', () => {})
      stream.write(streamRequest(Buffer.concat([encodeStreamOpening(newIncarnation(), [0, 0, 0]), Uint8Array.of(3, 1, 2, 3)])))
      const held = await eventually('a to hold the stranger as tentative', () =>
        a.module.stats().tentative.find(t => t.identity === strangerId && t.heldMessages === 1))
      expect(held.receivedMessages).toBe(1)
      expect(a.module.inbox.length).toBe(0)
    })
  })

  describe('limits', () => {
    it('drops a connection that never starts its TLS handshake after handshakeTimeoutMs', async () => {
      const { transport: server } = await start()
      const { host, port } = parseGrpcAddress(server.listenAddresses()[0], false)
      const t0 = performance.now()
      const socket = tcpConnect({ host, port })
      sockets.push(socket)
      await closed(socket)
      expect(performance.now() - t0).toBeGreaterThanOrEqual(290)
    })

    it('drops a peer that finishes TLS with a valid certificate but never opens the call', async () => {
      const { transport: server, accepted } = await start()
      const { host, port } = parseGrpcAddress(server.listenAddresses()[0], false)
      const { keyPem, certPem } = await createIdentityCertificate(await generateKey())
      const t0 = performance.now()
      const socket = tlsConnect({ host, port, key: keyPem, cert: certPem, rejectUnauthorized: false, ALPNProtocols: ['h2'] })
      sockets.push(socket)
      // it reads what the server sends (HTTP/2 SETTINGS, then GOAWAY and the end), and sends nothing
      socket.resume()
      const ended = closed(socket)
      await new Promise<void>((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject) })
      await ended
      expect(performance.now() - t0).toBeGreaterThanOrEqual(290)
      expect(accepted).toEqual([])
    })

    it('resets connections past maxPendingHandshakes at once, and accepts again once they are gone', async () => {
      const { transport: server, accepted } = await start()
      const { host, port } = parseGrpcAddress(server.listenAddresses()[0], false)
      const idle = [tcpConnect({ host, port }), tcpConnect({ host, port })]
      sockets.push(...idle)
      const idleClosed = idle.map(closed)
      await Promise.all(idle.map(async s => { await new Promise(resolve => s.once('connect', resolve)) }))
      const t0 = performance.now()
      const third = tcpConnect({ host, port })
      sockets.push(third)
      await closed(third)
      expect(performance.now() - t0).toBeLessThan(250)
      await Promise.all(idleClosed)
      const { transport: client } = await start()
      await client.dial(server.listenAddresses()[0], { signal: AbortSignal.timeout(5000) })
      await eventually('the server to accept', () => accepted.length === 1)
    })
  })
})
