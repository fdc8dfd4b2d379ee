import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { createMirnetClient } from '../../src/client/client.ts'
import { silentLogger } from '../../src/core/logger.ts'
import { Daemon } from '../../src/daemon/daemon.ts'
import { generateKey } from '../../src/transports/libp2p/keys.ts'
import { TransportService } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import { grpcJsClient } from '../helpers/daemons.ts'
import { eventually } from '../helpers/wait.ts'
import { report } from './scale.ts'
import type { Client as GrpcClient } from '@grpc/grpc-js'
import type { Client } from '@connectrpc/connect'

/**
 * Fault scenario 6: bad input on every RPC and field of TransportService,
 * through three clients — connect-es over gRPC and @grpc/grpc-js (both take
 * the daemon's gRPC fast path for unary Send) and connect-es over the Connect
 * protocol (connect-node's pipeline for everything). Each row expects the
 * code transport.proto documents and a message naming the problem and the
 * value; after each row the daemon must still move a message end to end.
 */

const MAX_FRAME_BYTES = 64 * 1024
const API_MAX_REQUEST_BYTES = 256 * 1024

/** A valid peer id of no daemon here. */
const STRANGER = '12D3KooW9yHCWsTg2FQtB9CDbEPhMQYhEVtMt7hxoTvaURAAyHtM'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)

type Outcome = { ok: true, value: unknown } | { ok: false, code: Code, message: string }

interface CallOptions {
  timeoutMs?: number
}

/** The three ways in, behind one face. */
interface ApiClient {
  name: string
  unary: (method: 'getInfo' | 'connect' | 'send' | 'awaitConnections' | 'getStatus', request: object, options?: CallOptions) => Promise<Outcome>
  /**
   * SendStream with these requests; with `cancelAfter`, the call is cancelled
   * after that many were sent, once `cancelWhen` resolves.
   */
  sendStream: (requests: object[], options?: CallOptions & { cancelAfter?: number, cancelWhen?: () => Promise<void> }) => Promise<Outcome>
  /** Receive until the first batch (then cancel), or until the error that ends the call. */
  receiveFirst: (request: object, options?: CallOptions) => Promise<Outcome>
  close: () => void
}

function connectEsClient (name: string, client: Client<typeof TransportService>): ApiClient {
  const settle = async (call: () => Promise<unknown>): Promise<Outcome> => {
    try {
      return { ok: true, value: await call() }
    } catch (err) {
      const e = ConnectError.from(err)
      return { ok: false, code: e.code, message: e.rawMessage }
    }
  }
  return {
    name,
    unary: async (method, request, options = {}) => await settle(async () => await (client[method] as (r: object, o: CallOptions) => Promise<unknown>)(request, options)),
    sendStream: async (requests, options = {}) => {
      const abort = new AbortController()
      return await settle(async () => await client.sendStream((async function * () {
        for (const [i, r] of requests.entries()) {
          if (i === options.cancelAfter) {
            await options.cancelWhen?.()
            abort.abort()
            // the cancel ends the call; this generator is not read again
            await new Promise(() => {})
          }
          yield r
        }
      })(), { timeoutMs: options.timeoutMs, signal: abort.signal }))
    },
    receiveFirst: async (request, options = {}) => {
      const abort = new AbortController()
      try {
        return await settle(async () => {
          for await (const res of client.receive(request, { timeoutMs: options.timeoutMs, signal: abort.signal })) return res
          return undefined
        })
      } finally {
        abort.abort()
      }
    },
    close: () => {}
  }
}

type GrpcCallback = (err: (Error & { code: number, details: string }) | null, value?: unknown) => void
type GrpcAny = GrpcClient & Record<string, (...args: unknown[]) => any>

function grpcJsApiClient (address: string): ApiClient {
  const client = grpcJsClient(address) as GrpcAny
  const deadline = (options: CallOptions): { deadline?: Date } => options.timeoutMs === undefined ? {} : { deadline: new Date(Date.now() + options.timeoutMs) }
  const settle = async (start: (done: GrpcCallback) => void): Promise<Outcome> => await new Promise(resolve => {
    start((err, value) => { resolve(err === null ? { ok: true, value } : { ok: false, code: err.code as Code, message: err.details }) })
  })
  return {
    name: 'grpc-js',
    unary: async (method, request, options = {}) => await settle(done => { client[method](request, deadline(options), done) }),
    sendStream: async (requests, options = {}) => await settle(done => {
      const call = client.sendStream(deadline(options), done)
      void (async () => {
        for (const [i, r] of requests.entries()) {
          if (i === options.cancelAfter) {
            await options.cancelWhen?.()
            call.cancel()
            return
          }
          call.write(r)
        }
        call.end()
      })()
    }),
    receiveFirst: async (request, options = {}) => await new Promise(resolve => {
      const call = client.receive(request, deadline(options))
      call.once('data', (value: unknown) => {
        resolve({ ok: true, value })
        call.cancel()
      })
      call.once('error', (err: Error & { code: number, details: string }) => { resolve({ ok: false, code: err.code as Code, message: err.details }) })
      call.once('end', () => { resolve({ ok: true, value: undefined }) })
    }),
    close: () => { client.close() }
  }
}

interface Row {
  rpc: string
  field: string
  problem: string
  run: (c: ApiClient) => Promise<Outcome>
  code: Code
  /** What the message must say: the problem and the offending value. */
  message: RegExp
  /** Nothing of the request may be queued (sends). */
  queuesNothing?: boolean
  /** Payloads b must get before the probe: requests before a bad one stay queued. */
  deliveredFirst?: string[]
}

describe('fault scenario 6: bad input on every RPC', () => {
  let a: Daemon
  let b: Daemon
  let nodes: Array<{ id: string, address: string }>
  let otherPeerAddress: string
  const clients: ApiClient[] = []
  const results: Array<{ client: string, rpc: string, field: string, problem: string, code: string }> = []

  beforeAll(async () => {
    const start = async (nodeId: string): Promise<Daemon> => await Daemon.start({
      nodeId,
      privateKey: await generateKey(),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      apiHost: '127.0.0.1',
      apiPort: 0,
      apiMaxRequestBytes: API_MAX_REQUEST_BYTES,
      network: { maxFrameBytes: MAX_FRAME_BYTES },
      logger: silentLogger
    })
    ;[a, b] = await Promise.all([start('a'), start('b')])
    nodes = [{ id: 'a', address: a.info.listen[0] }, { id: 'b', address: b.info.listen[0] }]
    a.net.connect(nodes)
    b.net.connect(nodes)
    await b.net.waitFor(2, { signal: AbortSignal.timeout(20_000) })
    await a.net.waitFor(2, { signal: AbortSignal.timeout(20_000) })
    otherPeerAddress = `/ip4/127.0.0.1/tcp/1/p2p/${b.info.peerId}`
    clients.push(
      connectEsClient('connect-es gRPC', createMirnetClient(a.info.api)),
      connectEsClient('connect-es Connect', createClient(TransportService, createConnectTransport({ baseUrl: `http://${a.info.api}`, httpVersion: '2' }))),
      grpcJsApiClient(a.info.api)
    )
  }, 60_000)

  // each test starts from empty inboxes, whatever the one before it left
  beforeEach(() => {
    for (const d of [a, b]) d.net.inbox.take(Number.MAX_SAFE_INTEGER)
  })

  afterAll(async () => {
    for (const c of clients) c.close()
    await Promise.all([a?.stop(), b?.stop()])
    report('6-api-bad-input', { rows: results.length, byCode: results.reduce<Record<string, number>>((acc, r) => { acc[r.code] = (acc[r.code] ?? 0) + 1; return acc }, {}) })
  })

  const payload = text('x')
  const send = (messages: object[]) => (c: ApiClient) => c.unary('send', { messages })
  const sendStream = (messages: object[]) => (c: ApiClient) => c.sendStream([{ messages: [{ destinations: ['b'], payload: text('before the bad request') }] }, { messages }])
  const connect = (entries: (n: typeof nodes) => object[]) => (c: ApiClient) => c.unary('connect', { nodes: entries(nodes) })

  const rows: Row[] = [
    // Connect: nodes[].id and nodes[].address
    { rpc: 'Connect', field: 'nodes[].id', problem: 'empty', run: connect(n => [n[0], { id: '', address: n[1].address }]), code: Code.InvalidArgument, message: /^entry 1: node id is empty$/ },
    { rpc: 'Connect', field: 'nodes[].id', problem: 'duplicate', run: connect(n => [n[0], n[1], { id: 'b', address: n[1].address }]), code: Code.InvalidArgument, message: /^entry 2: node id "b" is listed twice$/ },
    { rpc: 'Connect', field: 'nodes[].address', problem: 'not a multiaddr', run: connect(n => [n[0], { id: 'x', address: 'tcp://127.0.0.1:9000' }]), code: Code.InvalidArgument, message: /entry 1 \(node "x"\): address "tcp:\/\/127\.0\.0\.1:9000" is not a valid multiaddr/ },
    { rpc: 'Connect', field: 'nodes[].address', problem: 'empty', run: connect(n => [n[0], { id: 'x', address: '' }]), code: Code.InvalidArgument, message: /entry 1 \(node "x"\): address "" / },
    { rpc: 'Connect', field: 'nodes[].address', problem: 'missing /p2p', run: connect(n => [n[0], { id: 'x', address: '/ip4/127.0.0.1/tcp/9000' }]), code: Code.InvalidArgument, message: /entry 1 \(node "x"\): address "\/ip4\/127\.0\.0\.1\/tcp\/9000" does not end in \/p2p\/<peer id>/ },
    { rpc: 'Connect', field: 'nodes[].address', problem: 'only /p2p', run: connect(n => [n[0], { id: 'x', address: `/p2p/${STRANGER}` }]), code: Code.InvalidArgument, message: new RegExp(`entry 1 \\(node "x"\\): address "/p2p/${STRANGER}" has a peer id but no network address`) },
    { rpc: 'Connect', field: 'nodes[].address', problem: 'bad peer id', run: connect(n => [n[0], { id: 'x', address: '/ip4/127.0.0.1/tcp/9000/p2p/QmNotAPeerId' }]), code: Code.InvalidArgument, message: /entry 1 \(node "x"\): address "\/ip4\/127\.0\.0\.1\/tcp\/9000\/p2p\/QmNotAPeerId"/ },
    { rpc: 'Connect', field: 'nodes[].address', problem: 'duplicate peer id', run: connect(n => [n[0], n[1], { id: 'y', address: otherPeerAddress }]), code: Code.InvalidArgument, message: /entry 2 \(node "y"\): peer id \w+ is already the peer id of node "b"/ },
    { rpc: 'Connect', field: 'nodes[].address', problem: 'own node with another peer id', run: connect(n => [{ id: 'a', address: n[1].address }]), code: Code.InvalidArgument, message: /entry 0: the own node "a" is listed with peer id \w+, but this node is \w+/ },
    { rpc: 'Connect', field: 'nodes[].address', problem: 'another node with the own peer id', run: connect(n => [{ id: 'z', address: n[0].address }]), code: Code.InvalidArgument, message: /entry 0: node "z" has this node's own peer id \w+; this node is "a"/ },
    // Send: messages[].destinations and messages[].payload
    { rpc: 'Send', field: 'messages[].destinations', problem: 'none', run: send([{ destinations: ['b'], payload }, { destinations: [], payload }]), code: Code.InvalidArgument, message: /^messages\[1\] has no destinations$/, queuesNothing: true },
    { rpc: 'Send', field: 'messages[].destinations', problem: 'empty id', run: send([{ destinations: ['b', ''], payload }]), code: Code.InvalidArgument, message: /^messages\[0\]\.destinations\[1\] is empty$/, queuesNothing: true },
    { rpc: 'Send', field: 'messages[].destinations', problem: 'duplicate id', run: send([{ destinations: ['b', 'a', 'b'], payload }]), code: Code.InvalidArgument, message: /^messages\[0\]\.destinations\[2\]: destination "b" is listed twice$/, queuesNothing: true },
    { rpc: 'Send', field: 'messages[].destinations', problem: 'unknown', run: send([{ destinations: ['b'], payload }, { destinations: ['a', 'nobody'], payload }]), code: Code.NotFound, message: /^destination "nobody" is not in the membership$/, queuesNothing: true },
    { rpc: 'Send', field: 'messages[].payload', problem: 'over the maximum frame', run: send([{ destinations: ['b'], payload }, { destinations: ['b'], payload: new Uint8Array(MAX_FRAME_BYTES + 1) }]), code: Code.InvalidArgument, message: new RegExp(`^messages\\[1\\]: payload of ${MAX_FRAME_BYTES + 1} bytes exceeds the maximum of ${MAX_FRAME_BYTES} bytes$`), queuesNothing: true },
    { rpc: 'Send', field: '(request)', problem: 'over the maximum request', run: send([{ destinations: ['b'], payload: new Uint8Array(API_MAX_REQUEST_BYTES + 1) }]), code: Code.ResourceExhausted, message: new RegExp(`message size (\\d+ )?is larger than configured readMaxBytes ${API_MAX_REQUEST_BYTES}`), queuesNothing: true },
    // SendStream: the same checks per request; the first bad one ends the call
    { rpc: 'SendStream', field: 'messages[].destinations', problem: 'none', run: sendStream([{ destinations: [], payload }]), code: Code.InvalidArgument, message: /^messages\[0\] has no destinations$/, deliveredFirst: ['before the bad request'] },
    { rpc: 'SendStream', field: 'messages[].destinations', problem: 'empty id', run: sendStream([{ destinations: [''], payload }]), code: Code.InvalidArgument, message: /^messages\[0\]\.destinations\[0\] is empty$/, deliveredFirst: ['before the bad request'] },
    { rpc: 'SendStream', field: 'messages[].destinations', problem: 'duplicate id', run: sendStream([{ destinations: ['a', 'a'], payload }]), code: Code.InvalidArgument, message: /^messages\[0\]\.destinations\[1\]: destination "a" is listed twice$/, deliveredFirst: ['before the bad request'] },
    { rpc: 'SendStream', field: 'messages[].destinations', problem: 'unknown', run: sendStream([{ destinations: ['ghost'], payload }]), code: Code.NotFound, message: /^destination "ghost" is not in the membership$/, deliveredFirst: ['before the bad request'] },
    { rpc: 'SendStream', field: 'messages[].payload', problem: 'over the maximum frame', run: sendStream([{ destinations: ['b'], payload: new Uint8Array(MAX_FRAME_BYTES + 1) }]), code: Code.InvalidArgument, message: new RegExp(`^messages\\[0\\]: payload of ${MAX_FRAME_BYTES + 1} bytes exceeds the maximum of ${MAX_FRAME_BYTES} bytes$`), deliveredFirst: ['before the bad request'] },
    { rpc: 'SendStream', field: '(request)', problem: 'over the maximum request', run: sendStream([{ destinations: ['b'], payload: new Uint8Array(API_MAX_REQUEST_BYTES + 1) }]), code: Code.ResourceExhausted, message: new RegExp(`message size (\\d+ )?is larger than configured readMaxBytes ${API_MAX_REQUEST_BYTES}`), deliveredFirst: ['before the bad request'] },
    // AwaitConnections: min_connected
    ...[0, -1, -(2 ** 31), 100_001, 2 ** 31 - 1].map((n): Row => ({ rpc: 'AwaitConnections', field: 'min_connected', problem: String(n), run: c => c.unary('awaitConnections', { minConnected: n }), code: Code.InvalidArgument, message: new RegExp(`^min_connected must be between 1 and 100000, got ${n}$`) })),
    // deadlines that pass before the call can complete
    { rpc: 'AwaitConnections', field: '(deadline)', problem: 'expires', run: c => c.unary('awaitConnections', { minConnected: 3 }, { timeoutMs: 100 }), code: Code.DeadlineExceeded, message: /./ },
    { rpc: 'Receive', field: '(deadline)', problem: 'expires', run: c => c.receiveFirst({}, { timeoutMs: 100 }), code: Code.DeadlineExceeded, message: /./ }
  ]

  for (const clientIndex of [0, 1, 2]) {
    describe(['connect-es gRPC', 'connect-es Connect', 'grpc-js'][clientIndex], () => {
      it.each(rows.map(r => [`${r.rpc} ${r.field}: ${r.problem}`, r] as const))('%s', async (_, row) => {
        const client = clients[clientIndex]
        const before = totalsQueued(a)
        const outcome = await row.run(client)
        expect(outcome).toMatchObject({ ok: false, code: row.code })
        if (!outcome.ok) expect(outcome.message).toMatch(row.message)
        if (row.queuesNothing === true) expect(totalsQueued(a)).toBe(before)
        results.push({ client: client.name, rpc: row.rpc, field: row.field, problem: row.problem, code: Code[row.code] })
        await expectServing(client, row.deliveredFirst)
      })
    })
  }

  /** Messages a has queued or sent to b, and delivered to itself, so far. */
  function totalsQueued (d: Daemon): number {
    return d.net.stats().peers.reduce((sum, p) => sum + p.sentMessages + p.queued + p.droppedMessages, 0)
  }

  /** A message from a to b and to itself still goes through: Send, then Receive through the same client. */
  async function expectServing (client: ApiClient, deliveredFirst: string[] = []): Promise<void> {
    const probe = `probe-${Math.random()}`
    const sent = await client.unary('send', { messages: [{ destinations: ['b', 'a'], payload: text(probe) }] })
    expect(sent).toMatchObject({ ok: true })
    const batch = await client.receiveFirst({}, { timeoutMs: 20_000 })
    expect(batch).toMatchObject({ ok: true })
    const messages = (batch as { value: { messages: Array<{ from: string, payload: Uint8Array }> } }).value.messages
    expect(messages.map(m => [m.from, str(m.payload)])).toEqual([['a', probe]])
    const atB: string[][] = []
    while (atB.length < deliveredFirst.length + 1) {
      await b.net.inbox.wait(AbortSignal.timeout(20_000))
      atB.push(...b.net.inbox.take(10).map(m => [m.from, str(m.payload)]))
    }
    expect(atB).toEqual([...deliveredFirst, probe].map(p => ['a', p]))
    // the probe's Receive was cancelled after its batch: wait until the daemon has let it go, or it
    // takes the next test's first message (which is what Receive documents for cancelled streams)
    await receiveStreamsSettled(client)
  }

  /** Wait until the daemon holds no Receive stream open. */
  async function receiveStreamsSettled (client: ApiClient): Promise<void> {
    const open = async (): Promise<number> => ((await client.unary('getStatus', {})) as { value: { totals: { receiveStreams: number } } }).value.totals.receiveStreams
    await eventually('no Receive stream open at the daemon', open, n => n === 0)
  }

  describe('cancelled streams', () => {
    it.each([0, 1, 2])('SendStream cancelled midway keeps what was sent before, ends on the daemon, which keeps serving (client %d)', async (i) => {
      const client = clients[i]
      const requests = Array.from({ length: 5 }, (_, k) => ({ messages: [{ destinations: ['a'], payload: text(`stream-${k}`) }] }))
      const got: string[] = []
      // cancel once the daemon has queued (and delivered) the first three
      const cancelWhen = async (): Promise<void> => {
        await eventually('the first three messages delivered', () => {
          got.push(...a.net.inbox.take(10).map(m => str(m.payload)))
          return got.length >= 3
        })
      }
      const outcome = await client.sendStream(requests, { cancelAfter: 3, cancelWhen })
      expect(outcome).toMatchObject({ ok: false, code: Code.Canceled })
      expect(got).toEqual(['stream-0', 'stream-1', 'stream-2'])
      await expectServing(client)
      expect(a.net.inbox.length).toBe(0)
    })

    it.each([0, 1, 2])('Receive cancelled is let go by the daemon, which keeps serving (client %d)', async (i) => {
      const client = clients[i]
      await client.unary('send', { messages: [{ destinations: ['a'], payload: text('for the cancelled stream') }] })
      const first = await client.receiveFirst({ maxBatchMessages: 4_294_967_295 })
      expect(first).toMatchObject({ ok: true })
      // receiveFirst cancels after the first batch: the daemon drops the stream
      await receiveStreamsSettled(client)
      await expectServing(client)
    })
  })
})
