import { createServer } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { status as GrpcStatus } from '@grpc/grpc-js'
import { createMirnetClient, receiveMessages } from '../src/client/client.ts'
import { generateKey, peerIdOf } from '../src/transports/libp2p/keys.ts'
import { TransportService } from '../gen/ts/mirnet/v1/transport_pb.ts'
import { Health } from '../gen/ts/grpc/health/v1/health_pb.ts'
import { grpcJsClient, startTestDaemon } from './helpers/daemons.ts'
import { Scratch, firstLine, freePort, mirnet, stop } from './helpers/processes.ts'
import { Scrape, scrape } from './helpers/prometheus.ts'
import { eventually, peer } from './helpers/wait.ts'
import type { Client } from '@connectrpc/connect'
import type { Daemon } from '../src/daemon/daemon.ts'
import type { GetStatusResponse } from '../gen/ts/mirnet/v1/transport_pb.ts'
import type { Ready } from './helpers/processes.ts'

type ConnectClient = Client<typeof TransportService>
type GrpcJsClient = ReturnType<typeof grpcJsClient>

const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill)
const SERVICE = 'mirnet.v1.TransportService'

/** A client speaking the Connect protocol: every call goes through connect-node's pipeline. */
function connectClient (api: string): ConnectClient {
  return createClient(TransportService, createConnectTransport({ baseUrl: `http://${api}`, httpVersion: '2' }))
}

/** A unary call with grpc-js; resolves with the gRPC status code (0 when it succeeded). */
async function grpcUnary (client: GrpcJsClient, method: string, request: object): Promise<number> {
  return await new Promise(resolve => {
    client[method](request, (err: { code: number } | null) => { resolve(err === null ? 0 : err.code) })
  })
}

async function codeOf (call: Promise<unknown>): Promise<Code> {
  try {
    await call
  } catch (err) {
    return ConnectError.from(err).code
  }
  throw new Error('the call succeeded')
}

/** Scrape until `done` holds, failing after `timeoutMs`. */
async function scrapeUntil (address: string, what: string, done: (s: Scrape) => boolean, timeoutMs = 20_000): Promise<Scrape> {
  return await eventually(what, async () => await scrape(address), done, timeoutMs)
}

const rpc = (method: string, code: string): Record<string, string> => ({ service: SERVICE, method, code })

/** Every per-member counter and gauge of a scrape next to what GetStatus said. */
function expectSameAsStatus (s: Scrape, status: GetStatusResponse): void {
  const members = status.peers.map(p => p.nodeId).sort()
  expect(s.series('mirnet_peer_sent_messages_total').map(m => m.labels.node_id).sort()).toEqual(members)
  for (const p of status.peers) {
    const node = { node_id: p.nodeId }
    expect({
      node: p.nodeId,
      sent: s.value('mirnet_peer_sent_messages_total', node),
      sentBytes: s.value('mirnet_peer_sent_bytes_total', node),
      received: s.value('mirnet_peer_received_messages_total', node),
      receivedBytes: s.value('mirnet_peer_received_bytes_total', node),
      overflow: s.value('mirnet_peer_dropped_messages_total', { ...node, reason: 'queue_overflow' }),
      overflowBytes: s.value('mirnet_peer_dropped_bytes_total', { ...node, reason: 'queue_overflow' }),
      lost: s.value('mirnet_peer_dropped_messages_total', { ...node, reason: 'in_flight_lost' }),
      acknowledged: s.value('mirnet_peer_acknowledged_messages_total', node),
      unconfirmed: s.value('mirnet_peer_unconfirmed_messages', node),
      discarded: s.value('mirnet_peer_dropped_messages_total', { ...node, reason: 'discarded' }),
      queued: s.value('mirnet_peer_queued_messages', node),
      queuedBytes: s.value('mirnet_peer_queued_bytes', node),
      reconnects: s.value('mirnet_peer_reconnects_total', node),
      inboundOpen: s.value('mirnet_peer_inbound_open', node) === 1
    }).toEqual({
      node: p.nodeId,
      sent: Number(p.sentMessages),
      sentBytes: Number(p.sentBytes),
      received: Number(p.receivedMessages),
      receivedBytes: Number(p.receivedBytes),
      overflow: Number(p.droppedMessages),
      overflowBytes: Number(p.droppedBytes),
      lost: Number(p.lostInFlightMessages),
      acknowledged: Number(p.acknowledgedMessages),
      unconfirmed: Number(p.unconfirmedMessages),
      discarded: Number(p.discardedMessages),
      queued: Number(p.queuedMessages),
      queuedBytes: Number(p.queuedBytes),
      reconnects: Number(p.reconnects),
      inboundOpen: p.inboundOpen
    })
  }
  expect(s.value('mirnet_members')).toBe(status.peers.length)
  expect(s.value('mirnet_connected_members')).toBe(status.totals?.connected)
  expect(s.value('mirnet_tentative_receivers')).toBe(status.tentative.length)
  expect(s.value('mirnet_tentative_held_messages')).toBe(status.tentative.reduce((n, t) => n + Number(t.heldMessages), 0))
  expect(s.value('mirnet_tentative_evicted_receivers_total')).toBe(Number(status.totals?.tentativeEvicted))
  expect(s.value('mirnet_inbox_messages')).toBe(Number(status.totals?.inboxMessages))
  expect(s.value('mirnet_receive_delivered_messages_total')).toBe(Number(status.totals?.deliveredMessages))
  expect(s.value('mirnet_receive_abandoned_messages_total')).toBe(Number(status.totals?.abandonedMessages))
  expect(s.value('mirnet_receive_streams')).toBe(status.totals?.receiveStreams)
}

describe('Metrics', () => {
  const daemons: Daemon[] = []
  const grpcClients: GrpcJsClient[] = []
  afterEach(async () => {
    for (const c of grpcClients) c.close()
    grpcClients.length = 0
    await Promise.all(daemons.map(async d => { await d.stop() }))
    daemons.length = 0
  })

  async function start (nodeId: string, network = {}): Promise<Daemon> {
    const d = await startTestDaemon(nodeId, network, { metrics: true })
    daemons.push(d)
    return d
  }

  /** a and b connected both ways, and c: a member of a that never comes up. */
  async function pairAndDownMember (networkOfA = {}, networkOfB = {}): Promise<{ a: Daemon, b: Daemon, ca: ConnectClient, cb: ConnectClient }> {
    const a = await start('a', networkOfA)
    const b = await start('b', networkOfB)
    const c = `/ip4/127.0.0.1/tcp/${await freePort()}/p2p/${peerIdOf(await generateKey())}`
    const ca = connectClient(a.info.api)
    const cb = connectClient(b.info.api)
    const ab = [{ id: 'a', address: a.info.listen[0] }, { id: 'b', address: b.info.listen[0] }]
    await ca.connect({ nodes: [...ab, { id: 'c', address: c }] })
    await cb.connect({ nodes: ab })
    await ca.awaitConnections({ minConnected: 2 }, { timeoutMs: 20_000 })
    await cb.awaitConnections({ minConnected: 2 }, { timeoutMs: 20_000 })
    return { a, b, ca, cb }
  }

  it('is off unless asked for', async () => {
    const d = await startTestDaemon('solo')
    daemons.push(d)
    expect(d.info.metrics).toBeUndefined()
    expect(d.metrics).toBeUndefined()
  })

  describe('per member', () => {
    it('reports what GetStatus reports and what was sent, received and dropped', async () => {
      const QUEUE = 4
      const { a, b, ca } = await pairAndDownMember({ queueCapacity: QUEUE })
      const grpc = grpcJsClient(a.info.api)
      grpcClients.push(grpc)
      // batches that fit the queue of b: 4 × 100 bytes over the gRPC fast path, 4 × 50 bytes to b and c through connect-node
      expect(await grpcUnary(grpc, 'send', { messages: Array.from({ length: QUEUE }, () => ({ destinations: ['b'], payload: bytes(100) })) })).toBe(0)
      await eventually('a to send the first batch to b', () => peer(a.net, 'b')?.sentMessages === QUEUE, 20_000)
      await ca.send({ messages: Array.from({ length: QUEUE }, () => ({ destinations: ['b', 'c'], payload: bytes(50) })) })
      // c is down: its queue overflows
      await ca.send({ messages: Array.from({ length: 2 }, () => ({ destinations: ['c'], payload: bytes(50) })) })
      await eventually('b to receive all 8 messages', () => peer(b.net, 'a')?.receivedMessages === 2 * QUEUE, 20_000)
      await eventually('b to acknowledge all 8', () => peer(a.net, 'b')?.acknowledgedMessages === 2 * QUEUE, 20_000)

      const s = await scrape(a.info.metrics as string)
      const status = await ca.getStatus({})
      expectSameAsStatus(s, status)
      // what was done
      expect(s.value('mirnet_peer_sent_messages_total', { node_id: 'b' })).toBe(2 * QUEUE)
      expect(s.value('mirnet_peer_sent_bytes_total', { node_id: 'b' })).toBe(QUEUE * 150)
      expect(s.value('mirnet_peer_dropped_messages_total', { node_id: 'b', reason: 'queue_overflow' })).toBe(0)
      expect(s.value('mirnet_peer_unconfirmed_messages', { node_id: 'b' })).toBe(0)
      expect(s.value('mirnet_peer_dropped_messages_total', { node_id: 'c', reason: 'queue_overflow' })).toBe(2)
      expect(s.value('mirnet_peer_dropped_bytes_total', { node_id: 'c', reason: 'queue_overflow' })).toBe(100)
      expect(s.value('mirnet_peer_queued_messages', { node_id: 'c' })).toBe(QUEUE)
      expect(s.value('mirnet_peer_queued_bytes', { node_id: 'c' })).toBe(QUEUE * 50)
      expect(s.value('mirnet_peer_sent_messages_total', { node_id: 'c' })).toBe(0)
      expect(s.value('mirnet_peer_connection_state', { node_id: 'b', state: 'open' })).toBe(1)
      expect(s.value('mirnet_peer_connection_state', { node_id: 'a', state: 'local' })).toBe(1)
      for (const node of ['a', 'b', 'c']) {
        // exactly one state holds
        expect(s.series('mirnet_peer_connection_state', { node_id: node }).map(m => m.value).sort()).toEqual([0, 0, 0, 0, 1])
      }
      expect(s.value('mirnet_peer_connection_state', { node_id: 'c', state: 'open' })).toBe(0)
      expect(s.value('mirnet_info', { node_id: 'a', peer_id: a.net.identity })).toBe(1)

      const sb = await scrape(b.info.metrics as string)
      expect(sb.value('mirnet_peer_received_messages_total', { node_id: 'a' })).toBe(2 * QUEUE)
      expect(sb.value('mirnet_peer_received_bytes_total', { node_id: 'a' })).toBe(QUEUE * 150)
      expect(sb.value('mirnet_inbox_messages')).toBe(2 * QUEUE)
      expect(sb.value('mirnet_inbox_bytes')).toBe(QUEUE * 150)

      // what was still queued for c is discarded when the daemon stops: the last scrape shows it
      await a.stop()
      const last = new Scrape(await (a.metrics?.scrape() ?? Promise.resolve('')))
      expect(last.value('mirnet_peer_dropped_messages_total', { node_id: 'c', reason: 'discarded' })).toBe(QUEUE)
      expect(last.value('mirnet_peer_dropped_messages_total', { node_id: 'c', reason: 'queue_overflow' })).toBe(2)
    })

    it('counts messages lost in flight when a member goes away', async () => {
      const { a, b, ca } = await pairAndDownMember({ reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 200 })
      // queue some, then kill b while a's writes may still be in flight
      await ca.send({ messages: Array.from({ length: 200 }, () => ({ destinations: ['b'], payload: bytes(4096) })) })
      await b.stop()
      await eventually('a to see b down', () => peer(a.net, 'b')?.state !== 'open', 20_000)
      const s = await scrape(a.info.metrics as string)
      const status = await ca.getStatus({})
      const p = status.peers.find(x => x.nodeId === 'b')
      expect(s.value('mirnet_peer_dropped_messages_total', { node_id: 'b', reason: 'in_flight_lost' })).toBe(Number(p?.lostInFlightMessages))
      // every message is accounted for in one scrape: queued, or sent and then acknowledged, lost or unconfirmed
      const b1 = { node_id: 'b' }
      const sent = s.value('mirnet_peer_sent_messages_total', b1)
      expect(sent + s.value('mirnet_peer_queued_messages', b1)).toBe(200)
      expect(s.value('mirnet_peer_acknowledged_messages_total', b1) + s.value('mirnet_peer_dropped_messages_total', { ...b1, reason: 'in_flight_lost' }) +
        s.value('mirnet_peer_unconfirmed_messages', b1)).toBe(sent)
    })
  })

  describe('per lane', () => {
    it('reports each member\'s lanes as GetStatus does, by node_id and lane', async () => {
      const { a, b, ca } = await pairAndDownMember({ queueCapacity: 4 })
      await ca.send({ messages: Array.from({ length: 3 }, () => ({ destinations: ['b'], payload: bytes(10) })) })
      // c is down: its default lane's queue overflows
      await ca.send({ messages: Array.from({ length: 6 }, () => ({ destinations: ['c'], payload: bytes(10), lane: 'consensus' })) })
      await eventually('b to acknowledge all 3', () => peer(a.net, 'b')?.acknowledgedMessages === 3, 20_000)
      const s = await scrape(a.info.metrics as string)
      const status = await ca.getStatus({})
      const series: Array<[string, (l: GetStatusResponse['peers'][number]['lanes'][number]) => bigint]> = [
        ['mirnet_lane_queued_messages', l => l.queuedMessages],
        ['mirnet_lane_queued_bytes', l => l.queuedBytes],
        ['mirnet_lane_sent_messages_total', l => l.sentMessages],
        ['mirnet_lane_sent_bytes_total', l => l.sentBytes],
        ['mirnet_lane_dropped_messages_total', l => l.droppedMessages],
        ['mirnet_lane_acknowledged_messages_total', l => l.acknowledgedMessages],
        ['mirnet_lane_unconfirmed_messages', l => l.unconfirmedMessages],
        ['mirnet_lane_resent_messages_total', l => l.resentMessages],
        ['mirnet_lane_received_messages_total', l => l.receivedMessages],
        ['mirnet_lane_received_bytes_total', l => l.receivedBytes],
        ['mirnet_lane_duplicate_messages_total', l => l.duplicateMessages]
      ]
      for (const [name, field] of series) {
        expect(s.series(name).length).toBe(3 * 3) // members a, b, c × lanes control, consensus, bulk
        for (const p of status.peers) {
          for (const l of p.lanes) expect([name, p.nodeId, l.lane, s.value(name, { node_id: p.nodeId, lane: l.lane })]).toEqual([name, p.nodeId, l.lane, Number(field(l))])
        }
      }
      expect(s.type('mirnet_lane_sent_messages_total')).toBe('counter')
      expect(s.type('mirnet_lane_queued_messages')).toBe('gauge')
      expect(s.value('mirnet_lane_sent_messages_total', { node_id: 'b', lane: 'consensus' })).toBe(3)
      expect(s.value('mirnet_lane_acknowledged_messages_total', { node_id: 'b', lane: 'consensus' })).toBe(3)
      expect(s.value('mirnet_lane_dropped_messages_total', { node_id: 'c', lane: 'consensus' })).toBe(2)
      expect(s.value('mirnet_lane_queued_messages', { node_id: 'c', lane: 'consensus' })).toBe(4)
      expect(s.value('mirnet_lane_queued_messages', { node_id: 'c', lane: 'bulk' })).toBe(0)
      expect(s.value('mirnet_peer_resent_messages_total', { node_id: 'b' })).toBe(Number(status.peers.find(p => p.nodeId === 'b')?.resentMessages))
      const sb = await scrape(b.info.metrics as string)
      expect(sb.value('mirnet_lane_received_messages_total', { node_id: 'a', lane: 'consensus' })).toBe(3)
      expect(sb.value('mirnet_lane_received_bytes_total', { node_id: 'a', lane: 'consensus' })).toBe(30)
      expect(sb.value('mirnet_inbox_lane_messages', { lane: 'consensus' })).toBe(3)
      expect(sb.value('mirnet_inbox_lane_bytes', { lane: 'consensus' })).toBe(30)
      expect(sb.value('mirnet_inbox_lane_messages', { lane: 'control' })).toBe(0)
    })
  })

  describe('calls', () => {
    it('counts and times every call by method and code, the gRPC fast path for Send included', async () => {
      const { a, ca } = await pairAndDownMember()
      const before = await scrape(a.info.metrics as string)
      // the client gives up at its deadline and the daemon ends the call at the same deadline: whichever comes
      // first decides whether the daemon saw it end as deadline_exceeded or as cancelled by the client
      expect(await codeOf(ca.awaitConnections({ minConnected: 3 }, { timeoutMs: 200 }))).toBe(Code.DeadlineExceeded)
      const timedOut = (x: Scrape): string | undefined => ['deadline_exceeded', 'canceled'].find(code => x.count('mirnet_rpc_duration_seconds', rpc('AwaitConnections', code)) === 1)
      const deadlineCode = timedOut(await scrapeUntil(a.info.metrics as string, 'the daemon to end the call', x => timedOut(x) !== undefined)) as string
      const grpc = grpcJsClient(a.info.api)
      grpcClients.push(grpc)
      // fast path (binary gRPC unary Send): two ok, one NOT_FOUND
      expect(await grpcUnary(grpc, 'send', { messages: [{ destinations: ['b'], payload: bytes(8) }] })).toBe(0)
      expect(await grpcUnary(grpc, 'send', { messages: [{ destinations: ['b'], payload: bytes(8) }] })).toBe(0)
      expect(await grpcUnary(grpc, 'send', { messages: [{ destinations: ['nobody'], payload: bytes(8) }] })).toBe(GrpcStatus.NOT_FOUND)
      // connect-node's pipeline, through the interceptor: by grpc-js and by the Connect protocol
      expect(await grpcUnary(grpc, 'getInfo', {})).toBe(0)
      expect(await codeOf(ca.send({ messages: [{ destinations: [], payload: bytes(8) }] }))).toBe(Code.InvalidArgument)
      expect(await codeOf(ca.awaitConnections({ minConnected: 0 }))).toBe(Code.InvalidArgument)
      await ca.send({ messages: [{ destinations: ['a'], payload: bytes(8) }] })
      await ca.getStatus({})
      await ca.getStatus({})
      // other services count too
      const health = createClient(Health, createConnectTransport({ baseUrl: `http://${a.info.api}`, httpVersion: '2' }))
      await health.check({ service: '' })
      expect(await codeOf(health.check({ service: 'no.such.Service' }))).toBe(Code.NotFound)
      const stream = await ca.sendStream((async function * () {
        for (let i = 0; i < 3; i++) yield { messages: [{ destinations: ['b'], payload: bytes(8) }] }
      })())
      expect(stream.requests).toBe(3n)

      const s = await scrape(a.info.metrics as string)
      expect(s.type('mirnet_rpc_duration_seconds')).toBe('histogram')
      const calls = (method: string, code: string): number =>
        s.count('mirnet_rpc_duration_seconds', rpc(method, code)) - before.count('mirnet_rpc_duration_seconds', rpc(method, code))
      expect({
        sendOk: calls('Send', 'ok'),
        sendNotFound: calls('Send', 'not_found'),
        sendInvalid: calls('Send', 'invalid_argument'),
        getInfo: calls('GetInfo', 'ok'),
        awaitInvalid: calls('AwaitConnections', 'invalid_argument'),
        awaitDeadline: calls('AwaitConnections', 'deadline_exceeded') + calls('AwaitConnections', 'canceled'),
        getStatus: calls('GetStatus', 'ok'),
        sendStream: calls('SendStream', 'ok')
      }).toEqual({ sendOk: 3, sendNotFound: 1, sendInvalid: 1, getInfo: 1, awaitInvalid: 1, awaitDeadline: 1, getStatus: 2, sendStream: 1 })
      expect(s.count('mirnet_rpc_duration_seconds', { service: 'grpc.health.v1.Health', method: 'Check', code: 'ok' })).toBe(1)
      expect(s.count('mirnet_rpc_duration_seconds', { service: 'grpc.health.v1.Health', method: 'Check', code: 'not_found' })).toBe(1)
      // the setup's calls were counted too
      expect(before.count('mirnet_rpc_duration_seconds', rpc('Connect', 'ok'))).toBe(1)
      expect(before.count('mirnet_rpc_duration_seconds', rpc('AwaitConnections', 'ok'))).toBe(1)
      // the deadline call took about its deadline: the histogram measures, not just counts
      const awaited = rpc('AwaitConnections', deadlineCode)
      expect(s.sum('mirnet_rpc_duration_seconds', awaited)).toBeGreaterThan(0.15)
      expect(s.bucket('mirnet_rpc_duration_seconds', awaited, '0.1')).toBe(0)
      expect(s.bucket('mirnet_rpc_duration_seconds', awaited, '+Inf')).toBe(1)
      expect(s.bucket('mirnet_rpc_duration_seconds', rpc('Send', 'ok'), '+Inf')).toBe(s.count('mirnet_rpc_duration_seconds', rpc('Send', 'ok')))
    })

    it('counts a Receive stream when it ends, and what it delivered', async () => {
      const { b, ca, cb } = await pairAndDownMember()
      await ca.send({ messages: Array.from({ length: 20 }, () => ({ destinations: ['b'], payload: bytes(10) })) })
      let got = 0
      for await (const _ of receiveMessages(createMirnetClient(b.info.api), { timeoutMs: 20_000 })) {
        if (++got === 20) break
      }
      // the client cancelled the stream; the daemon sees it end
      const s = await scrapeUntil(b.info.metrics as string, 'the Receive stream to end', x => x.value('mirnet_receive_streams') === 0)
      expect(s.count('mirnet_rpc_duration_seconds', rpc('Receive', 'canceled'))).toBe(1)
      expect(s.value('mirnet_inbox_taken_messages_total')).toBe(20)
      expect(s.value('mirnet_inbox_messages')).toBe(0)
      const status = await cb.getStatus({})
      expect(s.value('mirnet_receive_delivered_messages_total')).toBe(Number(status.totals?.deliveredMessages))
      expect(s.value('mirnet_receive_delivered_messages_total') + s.value('mirnet_receive_abandoned_messages_total')).toBeGreaterThanOrEqual(20)
    })
  })

  describe('tentative peers', () => {
    it('sums them without a label of their own, and keeps counting what they lost after they go', async () => {
      const b = await start('b', { tentativeMaxMessages: 3 })
      const d = await start('d')
      const cb = connectClient(b.info.api)
      const cd = connectClient(d.info.api)
      await cb.connect({ nodes: [{ id: 'b', address: b.info.listen[0] }] })
      await cd.connect({ nodes: [{ id: 'b', address: b.info.listen[0] }, { id: 'd', address: d.info.listen[0] }] })
      await cd.send({ messages: Array.from({ length: 5 }, () => ({ destinations: ['b'], payload: bytes(20) })) })
      await eventually('b to hold d\'s messages', () => b.net.stats().tentative[0]?.receivedMessages === 5, 20_000)

      let s = await scrape(b.info.metrics as string)
      const status = await cb.getStatus({})
      expectSameAsStatus(s, status)
      expect(s.value('mirnet_tentative_receivers')).toBe(1)
      expect(s.value('mirnet_tentative_held_messages')).toBe(3)
      expect(s.value('mirnet_tentative_held_bytes')).toBe(60)
      expect(s.value('mirnet_tentative_dropped_messages_total', { reason: 'overflow' })).toBe(2)
      // no series names d: members only
      expect(s.series('mirnet_peer_received_messages_total').map(m => m.labels.node_id)).toEqual(['b'])

      await d.stop()
      await eventually('b to close d\'s tentative receiver', () => b.net.stats().tentative.length === 0, 20_000)
      s = await scrape(b.info.metrics as string)
      expect(s.value('mirnet_tentative_receivers')).toBe(0)
      expect(s.value('mirnet_tentative_held_messages')).toBe(0)
      expect(s.value('mirnet_tentative_dropped_messages_total', { reason: 'overflow' })).toBe(2)
      expect(s.value('mirnet_tentative_dropped_messages_total', { reason: 'closed' })).toBe(3)
      expect(s.value('mirnet_tentative_dropped_messages_total', { reason: 'evicted' })).toBe(0)
    })
  })

  describe('the endpoint', () => {
    it('serves the text format with counter, gauge and histogram types and the process metrics; other paths are 404', async () => {
      const a = await start('a')
      const s = await scrape(a.info.metrics as string)
      expect(s.type('mirnet_peer_sent_messages_total')).toBe('counter')
      expect(s.type('mirnet_peer_queued_messages')).toBe('gauge')
      expect(s.type('mirnet_peer_connection_state')).toBe('gauge')
      expect(s.type('process_cpu_user_seconds_total')).toBe('counter')
      expect(s.type('nodejs_eventloop_lag_seconds')).toBe('gauge')
      expect(s.value('process_resident_memory_bytes')).toBeGreaterThan(0)
      expect((await fetch(`http://${a.info.metrics as string}/`)).status).toBe(404)
      expect((await fetch(`http://${a.info.metrics as string}/metrics`, { method: 'POST' })).status).toBe(405)
    })

    it('is closed when the daemon stops', async () => {
      const a = await start('a')
      const address = a.info.metrics as string
      await scrape(address)
      await a.stop()
      await expect(fetch(`http://${address}/metrics`)).rejects.toThrow()
    })
  })
})

describe('mirnet serve --metrics', () => {
  let scratch: Scratch
  beforeEach(() => { scratch = new Scratch() })
  afterEach(async () => { await scratch.cleanup() })

  it.each([
    ['--metrics', (port: number) => ({ args: ['--metrics', `127.0.0.1:${port}`], env: {} })],
    ['MIRNET_METRICS', (port: number) => ({ args: [], env: { MIRNET_METRICS: `127.0.0.1:${port}` } })]
  ])('serves /metrics on the address given by %s, named in the ready line', async (_, given) => {
    const dir = await scratch.dir()
    const port = await freePort()
    const { args, env } = given(port)
    const child = scratch.spawn(['serve', '--node-id', 'm1', '--state-dir', dir, '--api', '127.0.0.1:0', '--log-level', 'warn', ...args], env)
    const ready = await firstLine<Ready & { metrics?: string }>(child)
    expect(ready.metrics).toBe(`127.0.0.1:${port}`)
    const s = await scrape(ready.metrics as string)
    expect(s.value('mirnet_info', { node_id: 'm1', peer_id: ready.peerId })).toBe(1)
    expect(s.value('mirnet_peer_connection_state', { node_id: 'm1', state: 'local' })).toBe(1)
    expect(await stop(child)).toBe(0)
  })

  it('has no metrics endpoint unless asked', async () => {
    const dir = await scratch.dir()
    const child = scratch.spawn(['serve', '--state-dir', dir, '--api', '127.0.0.1:0', '--log-level', 'warn'])
    const ready = await firstLine<Ready & { metrics?: string }>(child)
    expect(ready.metrics).toBeUndefined()
    expect(await stop(child)).toBe(0)
  })

  it.each([
    [['--metrics', 'nope'], {}, 'expected HOST:PORT, got "nope"'],
    [['--metrics', '127.0.0.1'], {}, 'expected HOST:PORT, got "127.0.0.1"'],
    [['--metrics', '127.0.0.1:70000'], {}, 'expected a port number 0-65535, got "70000"'],
    [[], { MIRNET_METRICS: ':9464' }, 'expected HOST:PORT, got ":9464"']
  ])('refuses %j %j with a clear error', async (args, env, message) => {
    const dir = await scratch.dir()
    const res = await mirnet(['serve', '--state-dir', dir, '--api', '127.0.0.1:0', ...args], env)
    expect(res.code).toBe(1)
    expect(res.stderr).toContain(message)
    expect(res.stderr).toContain('--metrics')
  })

  it('says so when the metrics address cannot be used', async () => {
    const dir = await scratch.dir()
    const busy = createServer()
    await new Promise<void>(resolve => busy.listen(0, '127.0.0.1', resolve))
    const { port } = busy.address() as { port: number }
    try {
      const res = await mirnet(['serve', '--state-dir', dir, '--api', '127.0.0.1:0', '--metrics', `127.0.0.1:${port}`])
      expect(res.code).toBe(1)
      expect(res.stderr).toContain(`cannot serve metrics on 127.0.0.1:${port}: listen EADDRINUSE`)
    } finally {
      await new Promise(resolve => busy.close(resolve))
    }
  })
})
