import { connect as connectHttp2 } from 'node:http2'
import { afterEach, describe, expect, it } from '@jest/globals'
import { create, toBinary } from '@bufbuild/protobuf'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { status as GrpcStatus } from '@grpc/grpc-js'
import { createMirnetClient, receiveMessages } from '../src/client/client.ts'
import { ConnectionState, SendRequestSchema, TransportService } from '../gen/ts/mirnet/v1/transport_pb.ts'
import { grpcJsClient, startTestDaemon } from './helpers/daemons.ts'
import { codeOf } from './helpers/rpc.ts'
import { eventually } from './helpers/wait.ts'
import type { Daemon } from '../src/daemon/daemon.ts'
import type { MirnetClient } from '../src/client/client.ts'
import type { ReceiveResponse } from '../gen/ts/mirnet/v1/transport_pb.ts'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)

/** The first Receive batch; the stream is cancelled after it. */
async function firstBatch (client: MirnetClient): Promise<ReceiveResponse> {
  const abort = new AbortController()
  try {
    for await (const res of client.receive({}, { signal: abort.signal })) return res
  } finally {
    // leaving the loop alone does not cancel the call (connect-es): abort it
    abort.abort()
  }
  throw new Error('the Receive stream ended without a batch')
}


describe('TransportService', () => {
  const daemons: Daemon[] = []
  afterEach(async () => {
    await Promise.all(daemons.map(async d => { await d.stop() }))
    daemons.length = 0
  })

  async function pair (network = {}): Promise<{ a: Daemon, b: Daemon, ca: MirnetClient, cb: MirnetClient, nodes: Array<{ id: string, address: string }> }> {
    const a = await startTestDaemon('a', network)
    const b = await startTestDaemon('b', network)
    daemons.push(a, b)
    const ca = createMirnetClient(a.info.api)
    const cb = createMirnetClient(b.info.api)
    const nodes = [{ id: 'a', address: a.info.listen[0] }, { id: 'b', address: b.info.listen[0] }]
    return { a, b, ca, cb, nodes }
  }

  it('GetInfo tells node id, peer id and full listen multiaddrs', async () => {
    const { a, ca } = await pair()
    const info = await ca.getInfo({})
    expect(info.nodeId).toBe('a')
    expect(info.peerId).toBe(a.net.identity)
    expect(info.listenAddresses.length).toBeGreaterThan(0)
    for (const addr of info.listenAddresses) expect(addr).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${info.peerId}$`))
    expect(info.maxPayloadBytes).toBe(16n * 1024n * 1024n)
  })

  describe('Connect', () => {
    it('applies a membership, idempotently, and AwaitConnections sees it connect', async () => {
      const { ca, cb, nodes } = await pair()
      expect(await ca.connect({ nodes })).toMatchObject({ added: ['b'], removed: [], changed: [] })
      expect(await ca.connect({ nodes })).toMatchObject({ added: [], removed: [], changed: [] })
      await cb.connect({ nodes })
      const [ra, rb] = await Promise.all([
        ca.awaitConnections({ minConnected: 2 }, { timeoutMs: 10_000 }),
        cb.awaitConnections({ minConnected: 2 }, { timeoutMs: 10_000 })
      ])
      expect(ra.connected).toBe(2)
      expect(rb.connected).toBe(2)
    })

    it.each([
      ['an empty id', [{ id: '', address: 'A' }], /entry 1: node id is empty/],
      ['a duplicate id', [{ id: 'a', address: 'A' }], /entry 1: node id "a" is listed twice/],
      ['a bad multiaddr', [{ id: 'x', address: '/ip4/nope/tcp/1/p2p/x' }], /entry 1 \(node "x"\): address "\/ip4\/nope\/tcp\/1\/p2p\/x" is not a valid multiaddr/],
      ['no /p2p', [{ id: 'x', address: '/ip4/127.0.0.1/tcp/1' }], /entry 1 \(node "x"\): address "\/ip4\/127.0.0.1\/tcp\/1" does not end in \/p2p\/<peer id>/],
      ['a duplicate peer id', [{ id: 'x', address: 'A' }, { id: 'y', address: 'A' }], /entry 2 \(node "y"\): peer id .* is already the peer id of node "x"/]
    ])('refuses %s with INVALID_ARGUMENT naming the entry, applying nothing', async (_, entries, message) => {
      const { ca, nodes } = await pair()
      const bAddress = nodes[1].address
      const request = [nodes[0], ...entries.map(e => ({ id: e.id, address: e.address === 'A' ? bAddress : e.address }))]
      const { code, message: got } = await codeOf(ca.connect({ nodes: request }))
      expect(code).toBe(Code.InvalidArgument)
      expect(got).toMatch(message)
      const status = await ca.getStatus({})
      expect(status.peers.map(p => p.nodeId)).toEqual(['a'])
    })
  })

  describe('Send and Receive', () => {
    it('moves messages between two daemons, FIFO per sender, to self too', async () => {
      const { ca, cb, nodes } = await pair()
      await ca.connect({ nodes })
      await cb.connect({ nodes })
      await cb.awaitConnections({ minConnected: 2 }, { timeoutMs: 10_000 })
      const sent = await ca.send({
        messages: [
          { destinations: ['b'], payload: text('m0') },
          { destinations: ['b', 'a'], payload: text('m1') }
        ]
      })
      expect(sent).toMatchObject({ queued: 3n, droppedOldest: 0n })
      const stream = await ca.sendStream((async function * () {
        for (let i = 2; i < 100; i++) yield { messages: [{ destinations: ['b'], payload: text(`m${i}`) }] }
      })())
      expect(stream).toMatchObject({ queued: 98n, requests: 98n, droppedOldest: 0n })

      const got: string[] = []
      const abort = new AbortController()
      for await (const res of cb.receive({ maxBatchMessages: 16 }, { signal: abort.signal })) {
        expect(res.messages.length).toBeLessThanOrEqual(16)
        for (const m of res.messages) {
          expect(m.from).toBe('a')
          got.push(str(m.payload))
        }
        if (got.length === 100) break
      }
      abort.abort()
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`))
      const selfBatch = await firstBatch(ca)
      expect(selfBatch.messages.map(m => [m.from, str(m.payload)])).toEqual([['a', 'm1']])
      const status = await cb.getStatus({})
      expect(status.totals?.deliveredMessages).toBe(100n)
      expect(status.peers.find(p => p.nodeId === 'a')).toMatchObject({ receivedMessages: 100n, state: ConnectionState.OPEN })
    })

    it('loses nothing to a Receive loop that was left: receiveMessages cancels its stream', async () => {
      const { ca } = await pair()
      await ca.send({ messages: [{ destinations: ['a'], payload: text('first') }] })
      for await (const m of receiveMessages(ca)) {
        expect(str(m.payload)).toBe('first')
        expect((await ca.getStatus({})).totals?.receiveStreams).toBe(1)
        break
      }
      // the cancel reaches the daemon: no stream is left to take the next message
      await eventually('the daemon to see the Receive stream cancelled', async () => (await ca.getStatus({})).totals?.receiveStreams, n => n === 0)
      await ca.send({ messages: [{ destinations: ['a'], payload: text('second') }] })
      const next = await firstBatch(ca)
      expect(next.messages.map(m => str(m.payload))).toEqual(['second'])
    })

    it('shares messages between concurrent Receive streams: each message exactly once', async () => {
      const { ca, cb, nodes } = await pair()
      await ca.connect({ nodes })
      await cb.connect({ nodes })
      await ca.awaitConnections({ minConnected: 2 }, { timeoutMs: 10_000 })
      const total = 2000
      const abort = new AbortController()
      const seen: string[] = []
      let done: () => void = () => {}
      const finished = new Promise<void>(resolve => { done = resolve })
      const consume = async (): Promise<void> => {
        try {
          for await (const res of cb.receive({ maxBatchMessages: 7 }, { signal: abort.signal })) {
            for (const m of res.messages) seen.push(str(m.payload))
            if (seen.length >= total) done()
          }
        } catch (err) {
          if (ConnectError.from(err).code !== Code.Canceled) throw err
        }
      }
      const consumers = [consume(), consume()]
      for (let i = 0; i < total; i += 100) {
        await ca.send({ messages: Array.from({ length: 100 }, (_, j) => ({ destinations: ['b'], payload: text(`m${i + j}`) })) })
      }
      await finished
      abort.abort()
      await Promise.all(consumers)
      expect(seen.length).toBe(total)
      expect(new Set(seen).size).toBe(total)
    })

    it('refuses an unknown destination with NOT_FOUND and queues nothing of the request', async () => {
      const { ca, nodes } = await pair()
      await ca.connect({ nodes })
      const { code, message } = await codeOf(ca.send({
        messages: [
          { destinations: ['a'], payload: text('x') },
          { destinations: ['b', 'nobody'], payload: text('y') }
        ]
      }))
      expect(code).toBe(Code.NotFound)
      expect(message).toBe('destination "nobody" is not in the membership')
      const status = await ca.getStatus({})
      for (const p of status.peers) {
        expect(p.sentMessages + p.queuedMessages + p.droppedMessages).toBe(0n)
      }
    })

    it('refuses a payload over the maximum with INVALID_ARGUMENT stating the limit', async () => {
      const { ca } = await pair({ maxFrameBytes: 1024, queueMaxBytes: 1024 })
      const { code, message } = await codeOf(ca.send({ messages: [{ destinations: ['a'], payload: new Uint8Array(1025) }] }))
      expect(code).toBe(Code.InvalidArgument)
      expect(message).toBe('messages[0]: payload of 1025 bytes exceeds the maximum of 1024 bytes')
      const noDest = await codeOf(ca.send({ messages: [{ destinations: [], payload: text('x') }] }))
      expect(noDest).toEqual({ code: Code.InvalidArgument, message: 'messages[0] has no destinations' })
    })

    it('counts what displaced older messages when a destination is down', async () => {
      const { b, ca, nodes } = await pair({ queueCapacity: 4 })
      await b.stop()
      await ca.connect({ nodes })
      const res = await ca.send({ messages: Array.from({ length: 10 }, () => ({ destinations: ['b'], payload: text('x') })) })
      expect(res).toMatchObject({ queued: 10n, droppedOldest: 6n })
      const peerB = (await ca.getStatus({})).peers.find(p => p.nodeId === 'b')
      expect(peerB).toMatchObject({ queuedMessages: 4n, droppedMessages: 6n })
      expect(peerB?.state).not.toBe(ConnectionState.OPEN)
    })

    it('ends SendStream with the first invalid request\'s error', async () => {
      const { ca, nodes } = await pair()
      await ca.connect({ nodes })
      const { code, message } = await codeOf(ca.sendStream((async function * () {
        yield { messages: [{ destinations: ['a'], payload: text('ok') }] }
        yield { messages: [{ destinations: ['ghost'], payload: text('no') }] }
      })()))
      expect(code).toBe(Code.NotFound)
      expect(message).toMatch(/"ghost"/)
    })
  })

  describe('AwaitConnections', () => {
    it('honours the deadline with DEADLINE_EXCEEDED', async () => {
      const { ca } = await pair()
      const { code } = await codeOf(ca.awaitConnections({ minConnected: 2 }, { timeoutMs: 200 }))
      expect(code).toBe(Code.DeadlineExceeded)
    })

    it.each([0, -1, 1_000_000])('refuses min_connected %d with INVALID_ARGUMENT', async (n) => {
      const { ca } = await pair()
      const { code, message } = await codeOf(ca.awaitConnections({ minConnected: n }))
      expect(code).toBe(Code.InvalidArgument)
      expect(message).toContain(`got ${n}`)
    })
  })

  it('GetStatus reports members, tentative peers and totals', async () => {
    const { ca, cb, nodes } = await pair()
    await ca.connect({ nodes })
    await cb.connect({ nodes: [nodes[1]] }) // b does not know a yet: a is tentative at b
    await ca.awaitConnections({ minConnected: 2 }, { timeoutMs: 10_000 })
    await ca.send({ messages: [{ destinations: ['b'], payload: text('early') }] })
    await eventually('b to hold a\'s message for a tentative peer', async () => (await cb.getStatus({})).tentative,
      t => t.length === 1 && t[0].heldMessages === 1n)
    const status = await cb.getStatus({})
    expect(status.nodeId).toBe('b')
    expect(status.tentative[0].peerId).toBe((await ca.getInfo({})).peerId)
    expect(status.totals).toMatchObject({ connected: 1, receivedMessages: 0n })
    await cb.connect({ nodes })
    const first = await firstBatch(cb)
    expect(first.messages.map(m => [m.from, str(m.payload)])).toEqual([['a', 'early']])
  })

  it('ends Receive streams cleanly when the daemon stops', async () => {
    const { a, ca } = await pair()
    const stream = ca.receive({})
    const ended = (async () => { for await (const _ of stream) { /* nothing arrives */ } return 'ended' })()
    // the stream is open once the server has it: a unary call on the same connection orders after it
    await ca.getInfo({})
    await a.stop()
    await expect(ended).resolves.toBe('ended')
  })

  describe('unary Send over binary gRPC (the server\'s fast path)', () => {
    /** One raw gRPC call of Send; `body` is written (and the request ended) after `delayMs`, if given. */
    async function rawSend (api: string, headers: Record<string, string>, body?: { bytes: Uint8Array, delayMs: number }): Promise<{ status?: string, message?: string }> {
      const session = connectHttp2(`http://${api}`)
      try {
        const req = session.request({ ':method': 'POST', ':path': '/mirnet.v1.TransportService/Send', 'content-type': 'application/grpc', te: 'trailers', ...headers })
        req.resume()
        const trailers = new Promise<{ status?: string, message?: string }>((resolve, reject) => {
          req.on('trailers', t => { resolve({ status: t['grpc-status'] as string, message: t['grpc-message'] as string }) })
          req.on('error', reject)
        })
        let timer: ReturnType<typeof setTimeout> | undefined
        if (body !== undefined) timer = setTimeout(() => { req.end(body.bytes) }, body.delayMs)
        const result = await trailers
        clearTimeout(timer)
        req.close()
        return result
      } finally {
        session.close()
      }
    }

    function envelope (message: Uint8Array): Uint8Array {
      const out = new Uint8Array(5 + message.byteLength)
      new DataView(out.buffer).setUint32(1, message.byteLength)
      out.set(message, 5)
      return out
    }

    it('honours grpc-timeout: a request still unread at its deadline ends with DEADLINE_EXCEEDED', async () => {
      const { a, ca, nodes } = await pair()
      await ca.connect({ nodes })
      const bytes = envelope(toBinary(SendRequestSchema, create(SendRequestSchema, { messages: [{ destinations: ['a'], payload: text('late') }] })))
      // the body comes only after the deadline: never queued
      expect(await rawSend(a.info.api, { 'grpc-timeout': '100m' }, { bytes, delayMs: 60_000 })).toMatchObject({ status: String(Code.DeadlineExceeded) })
      // within its deadline the same call is served
      expect(await rawSend(a.info.api, { 'grpc-timeout': '10S' }, { bytes, delayMs: 0 })).toMatchObject({ status: '0' })
      const status = await ca.getStatus({})
      expect(status.peers.find(p => p.nodeId === 'a')?.sentMessages).toBe(1n)
    })

    it('refuses a malformed grpc-timeout with INVALID_ARGUMENT', async () => {
      const { a } = await pair()
      const result = await rawSend(a.info.api, { 'grpc-timeout': 'soon' })
      expect(result.status).toBe(String(Code.InvalidArgument))
      expect(decodeURIComponent(result.message ?? '')).toMatch(/invalid grpc timeout value: soon/)
    })
  })

  describe('over the Connect protocol (not gRPC)', () => {
    it('serves Send and its errors through connect-node as well', async () => {
      const { a } = await pair()
      const client = createClient(TransportService, createConnectTransport({ baseUrl: `http://${a.info.api}`, httpVersion: '2' }))
      expect(await client.send({ messages: [{ destinations: ['a'], payload: text('via connect') }] })).toMatchObject({ queued: 1n })
      const { code, message } = await codeOf(client.send({ messages: [{ destinations: ['nope'], payload: text('x') }] }))
      expect(code).toBe(Code.NotFound)
      expect(message).toBe('destination "nope" is not in the membership')
      expect((await firstBatch(createMirnetClient(a.info.api))).messages.map(m => str(m.payload))).toEqual(['via connect'])
    })
  })

  describe('with a @grpc/grpc-js client', () => {
    it('serves unary, server-streaming calls and error codes to plain gRPC', async () => {
      const { ca, a, nodes } = await pair()
      await ca.connect({ nodes })
      const client = grpcJsClient(a.info.api)
      try {
        const call = <T>(method: string, req: object): Promise<T> => new Promise((resolve, reject) => {
          client[method](req, (err: Error | null, res: T) => { if (err === null) resolve(res); else reject(err) })
        })
        const info = await call<{ nodeId: string }>('getInfo', {})
        expect(info.nodeId).toBe('a')
        const sent = await call<{ queued: bigint }>('send', { messages: [{ destinations: ['a'], payload: text('via grpc-js') }] })
        expect(sent.queued).toBe(1n)
        await expect(call('send', { messages: [{ destinations: ['zz'], payload: text('x') }] }))
          .rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND, details: 'destination "zz" is not in the membership' })
        await expect(call('awaitConnections', { minConnected: 0 }))
          .rejects.toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT })
        const stream = client.receive({}) as NodeJS.EventEmitter & { cancel: () => void }
        const first = await new Promise<{ messages: Array<{ from: string, payload: Uint8Array }> }>((resolve, reject) => {
          stream.once('data', resolve)
          stream.once('error', reject)
        })
        expect(first.messages.map(m => [m.from, str(m.payload)])).toEqual([['a', 'via grpc-js']])
        const closed = new Promise(resolve => stream.once('error', resolve))
        stream.cancel()
        await closed
      } finally {
        client.close()
      }
    })
  })
})
