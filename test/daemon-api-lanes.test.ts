import { afterEach, describe, expect, it } from '@jest/globals'
import { Code, ConnectError } from '@connectrpc/connect'
import { status as GrpcStatus } from '@grpc/grpc-js'
import { createMirnetClient, receiveMessages } from '../src/client/client.ts'
import { parseLaneSpecs } from '../src/core/lanes.ts'
import { PAYLOAD_SLACK_BYTES } from '../src/service/compact-payload.ts'
import { connectDaemons, grpcJsClient, startTestDaemon } from './helpers/daemons.ts'
import { codeOf } from './helpers/rpc.ts'
import { eventually } from './helpers/wait.ts'
import type { Daemon } from '../src/daemon/daemon.ts'
import type { MirnetClient } from '../src/client/client.ts'
import type { NetworkModuleInit } from '../src/core/config.ts'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)
const KNOWN = '(lanes: control, consensus, bulk)'


/** The first `count` messages of a Receive stream on `lanes`, as [lane, payload]. */
async function receive (client: MirnetClient, lanes: string[], count: number): Promise<Array<[string, string]>> {
  const got: Array<[string, string]> = []
  for await (const m of receiveMessages(client, { lanes, timeoutMs: 10_000 })) {
    got.push([m.lane, str(m.payload)])
    if (got.length === count) break
  }
  return got
}

describe('TransportService lanes', () => {
  const daemons: Daemon[] = []
  afterEach(async () => {
    await Promise.all(daemons.map(async d => { await d.stop() }))
    daemons.length = 0
  })

  async function start (nodeId: string, network: NetworkModuleInit = {}): Promise<{ d: Daemon, c: MirnetClient }> {
    const d = await startTestDaemon(nodeId, network)
    daemons.push(d)
    return { d, c: createMirnetClient(d.info.api) }
  }

  /** Nothing queued, sent or dropped to any member. */
  async function expectNothingQueued (c: MirnetClient): Promise<void> {
    for (const p of (await c.getStatus({})).peers) expect(p.sentMessages + p.queuedMessages + p.droppedMessages).toBe(0n)
  }

  describe('GetInfo', () => {
    it('lists the default lanes, top priority first, and the default lane', async () => {
      const { c } = await start('a')
      const info = await c.getInfo({})
      expect(info.defaultLane).toBe('consensus')
      expect(info.lanes.map(l => [l.name, l.number, l.strict, l.weight])).toEqual([
        ['control', 0, true, 0],
        ['consensus', 1, false, 4],
        ['bulk', 2, false, 1]
      ])
      for (const l of info.lanes) {
        expect(l.queueMessages).toBe(512n)
        expect(l.queueBytes).toBe(32n * 1024n * 1024n)
        expect(l.windowMessages).toBe(4096n)
        expect(l.windowBytes).toBe(256n * 1024n)
      }
    })

    it('lists configured lanes with their own settings', async () => {
      const { c } = await start('a', { lanes: parseLaneSpecs('votes:strict,blocks:3:window-bytes=4MiB,sync:1'), defaultLane: 'sync' })
      const info = await c.getInfo({})
      expect(info.defaultLane).toBe('sync')
      expect(info.lanes.map(l => [l.name, l.number, l.strict, l.weight, l.windowBytes])).toEqual([
        ['votes', 0, true, 0, 256n * 1024n],
        ['blocks', 1, false, 3, 4n * 1024n * 1024n],
        ['sync', 2, false, 1, 256n * 1024n]
      ])
    })
  })

  describe('an unknown lane', () => {
    it('fails Send with INVALID_ARGUMENT naming the message and the lane, queueing nothing of the request', async () => {
      const { c } = await start('a')
      const res = await codeOf(c.send({
        messages: [
          { destinations: ['a'], payload: text('ok'), lane: 'bulk' },
          { destinations: ['a'], payload: text('no'), lane: 'votes' }
        ]
      }))
      expect(res).toEqual({ code: Code.InvalidArgument, message: `messages[1]: lane "votes" is not configured ${KNOWN}` })
      await expectNothingQueued(c)
    })

    it('ends SendStream with INVALID_ARGUMENT naming the lane', async () => {
      const { c } = await start('a')
      const res = await codeOf(c.sendStream((async function * () {
        yield { messages: [{ destinations: ['a'], payload: text('ok') }] }
        yield { messages: [{ destinations: ['a'], payload: text('ok'), lane: 'control' }, { destinations: ['a'], payload: text('no'), lane: 'Bulk' }] }
      })()))
      expect(res).toEqual({ code: Code.InvalidArgument, message: `messages[1]: lane "Bulk" is not configured ${KNOWN}` })
      // the first request stays queued, nothing of the second
      const self = (await c.getStatus({})).peers.find(p => p.nodeId === 'a')
      expect((self?.sentMessages ?? 0n) + (self?.queuedMessages ?? 0n)).toBe(1n)
    })

    it('fails a unary Send on the gRPC fast path with INVALID_ARGUMENT naming the lane', async () => {
      const { d, c } = await start('a')
      const grpc = grpcJsClient(d.info.api)
      try {
        const err = await new Promise<{ code: number, details: string } | null>(resolve => {
          grpc.send({ messages: [{ destinations: ['a'], payload: text('no'), lane: 'nope' }] }, (e: { code: number, details: string } | null) => { resolve(e) })
        })
        expect(err).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT, details: `messages[0]: lane "nope" is not configured ${KNOWN}` })
      } finally {
        grpc.close()
      }
      await expectNothingQueued(c)
    })

    it('fails Receive with INVALID_ARGUMENT naming the lane', async () => {
      const { c } = await start('a')
      const res = await codeOf((async () => {
        for await (const _ of c.receive({ lanes: ['control', 'gossip'] })) { /* nothing */ }
      })())
      expect(res).toEqual({ code: Code.InvalidArgument, message: `lanes[1]: lane "gossip" is not configured ${KNOWN}` })
      expect((await c.getStatus({})).totals?.receiveStreams).toBe(0)
    })
  })

  describe('Receive', () => {
    it('tells each message\'s lane: the default lane when the sender named none', async () => {
      const { c } = await start('a')
      await c.send({ messages: [{ destinations: ['a'], payload: text('m0') }, { destinations: ['a'], payload: text('m1'), lane: '' }] })
      expect(await receive(c, [], 2)).toEqual([['consensus', 'm0'], ['consensus', 'm1']])
    })

    it('gives a stream only the lanes it asked for', async () => {
      const { c } = await start('a')
      const bulkOnly = new AbortController()
      const bulk: string[] = []
      // a stream for bulk, open before anything is sent: it must not take the default lane's messages
      const bulkStream = (async () => {
        try {
          for await (const m of receiveMessages(c, { lanes: ['bulk'], signal: bulkOnly.signal })) bulk.push(str(m.payload))
        } catch (err) {
          if (ConnectError.from(err).code !== Code.Canceled) throw err
        }
      })()
      await c.getInfo({})
      await c.send({ messages: Array.from({ length: 5 }, (_, i) => ({ destinations: ['a'], payload: text(`m${i}`) })) })
      expect(await receive(c, ['consensus'], 5)).toEqual(Array.from({ length: 5 }, (_, i) => ['consensus', `m${i}`]))
      bulkOnly.abort()
      await bulkStream
      expect(bulk).toEqual([])
    })

    // needs the lane core: the SHIM puts every message on the default lane
    it('gives two streams on disjoint lanes each only its own lane\'s messages, FIFO', async () => {
      const A = await start('a')
      const B = await start('b')
      await connectDaemons([A, B])
      const { c: ca, d: a } = A
      const { c: cb, d: b } = B
      const n = 50
      const controlGot = receive(cb, ['control'], n)
      const bulkGot = receive(cb, ['bulk', 'consensus'], 2 * n)
      await ca.send({
        messages: Array.from({ length: n }, (_, i) => [
          { destinations: ['b'], payload: text(`c${i}`), lane: 'control' },
          { destinations: ['b'], payload: text(`b${i}`), lane: 'bulk' },
          { destinations: ['b'], payload: text(`d${i}`) }
        ]).flat()
      })
      const control = await controlGot
      const rest = await bulkGot
      expect(control).toEqual(Array.from({ length: n }, (_, i) => ['control', `c${i}`]))
      expect(rest.filter(([lane]) => lane === 'bulk').map(([, p]) => p)).toEqual(Array.from({ length: n }, (_, i) => `b${i}`))
      expect(rest.filter(([lane]) => lane === 'consensus').map(([, p]) => p)).toEqual(Array.from({ length: n }, (_, i) => `d${i}`))
      const fromA = (await cb.getStatus({})).peers.find(p => p.nodeId === 'a')
      expect(fromA?.lanes.map(l => [l.lane, l.receivedMessages])).toEqual([['control', 50n], ['consensus', 50n], ['bulk', 50n]])
    })
  })

  describe('GetStatus', () => {
    it('reports every lane of every member, whose counters sum to the member\'s, and resent messages', async () => {
      const A = await start('a')
      const B = await start('b')
      await connectDaemons([A, B])
      const { c: ca, d: a } = A
      const { c: cb, d: b } = B
      await ca.send({ messages: Array.from({ length: 3 }, () => ({ destinations: ['b', 'a'], payload: text('xyz') })) })
      expect((await receive(cb, [], 3)).map(([lane]) => lane)).toEqual(['consensus', 'consensus', 'consensus'])
      const status = await eventually('b to acknowledge the 3 messages at a', async () => await ca.getStatus({}),
        s => s.peers.find(p => p.nodeId === 'b')?.acknowledgedMessages === 3n)
      for (const p of status.peers) {
        expect(p.lanes.map(l => l.lane)).toEqual(['control', 'consensus', 'bulk'])
        const sum = (field: 'sentMessages' | 'sentBytes' | 'acknowledgedMessages' | 'queuedMessages' | 'resentMessages' | 'receivedMessages'): bigint =>
          p.lanes.reduce((n, l) => n + l[field], 0n)
        expect([sum('sentMessages'), sum('sentBytes'), sum('acknowledgedMessages'), sum('queuedMessages'), sum('resentMessages'), sum('receivedMessages')])
          .toEqual([p.sentMessages, p.sentBytes, p.acknowledgedMessages, p.queuedMessages, p.resentMessages, p.receivedMessages])
        expect(p.resentMessages).toBe(0n)
      }
      const toB = status.peers.find(p => p.nodeId === 'b')
      expect(toB?.lanes.find(l => l.lane === 'consensus')).toMatchObject({ sentMessages: 3n, sentBytes: 9n, acknowledgedMessages: 3n, unconfirmedMessages: 0n, duplicateMessages: 0n })
      expect(status.totals?.resentMessages).toBe(0n)
      const atB = (await cb.getStatus({})).peers.find(p => p.nodeId === 'a')
      expect(atB?.lanes.find(l => l.lane === 'consensus')).toMatchObject({ receivedMessages: 3n, receivedBytes: 9n })
    })
  })

  describe('payloads of large requests', () => {
    it('does not pin the request: a small payload is queued as a copy (in a slab within the slack), a large one as a view', async () => {
      const { d, c } = await start('a')
      const large = new Uint8Array(2 * 1024 * 1024).fill(7)
      await c.send({ messages: [{ destinations: ['a'], payload: text('small') }, { destinations: ['a'], payload: large }] })
      // the own node's path hands the inbox the very payload the service queued
      await eventually('both messages in the own node\'s inbox', () => d.net.inbox.length, n => n >= 2)
      const [small, big] = d.net.inbox.take(2)
      expect(str(small.payload)).toBe('small')
      expect(small.payload.buffer.byteLength).toBeLessThanOrEqual(2 * 5 + PAYLOAD_SLACK_BYTES)
      expect(small.payload.buffer).not.toBe(big.payload.buffer)
      expect(big.payload.byteLength).toBe(large.byteLength)
      // still a view into the request buffer (which holds the small message and the framing too)
      expect(big.payload.buffer.byteLength).toBeGreaterThan(big.payload.byteLength)
    })
  })
})
