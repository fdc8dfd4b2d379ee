import { connect as http2Connect, constants as h2 } from 'node:http2'
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { create, toBinary } from '@bufbuild/protobuf'
import { Code } from '@connectrpc/connect'
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js'
import type { ServiceError } from '@grpc/grpc-js'
import { PullRequestSchema } from '../gen/ts/mirnet/v1/transport_pb.ts'
import { createMirnetClient, pullMessages, receiveMessages } from '../src/client/client.ts'
import { silentLogger } from '../src/core/logger.ts'
import { Daemon } from '../src/daemon/daemon.ts'
import { generateKey } from '../src/transports/libp2p/keys.ts'
import { connectDaemons, grpcJsClient, startTestDaemon } from './helpers/daemons.ts'
import { scrape } from './helpers/prometheus.ts'
import { codeOf } from './helpers/rpc.ts'
import { eventually, peer } from './helpers/wait.ts'
import type { MirnetClient } from '../src/client/client.ts'
import type { NetworkModuleInit } from '../src/core/config.ts'
import type { TestDaemonOptions } from './helpers/daemons.ts'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)
const KNOWN = '(lanes: control, consensus, bulk)'
const TOKEN = 'cHVsbC10ZXN0LXRva2Vu'

interface Totals { delivered: bigint, abandoned: bigint, inbox: bigint }
type Pulled = Array<{ from: string, payload: Uint8Array, lane: string }>
/** Payloads as text. */
const payloads = (ms: Pulled): string[] => ms.map(m => str(m.payload))
/** `[lane, payload]` of each message. */
const lanesAndPayloads = (ms: Pulled): Array<[string, string]> => ms.map(m => [m.lane, str(m.payload)])

describe('TransportService Pull', () => {
  const daemons: Daemon[] = []
  afterEach(async () => {
    jest.restoreAllMocks()
    await Promise.all(daemons.map(async d => { await d.stop() }))
    daemons.length = 0
  })

  async function start (nodeId: string, network: NetworkModuleInit = {}, options: TestDaemonOptions = {}): Promise<{ d: Daemon, c: MirnetClient }> {
    const d = await startTestDaemon(nodeId, network, options)
    daemons.push(d)
    return { d, c: createMirnetClient(d.info.api) }
  }

  /** Send `payloads` from the daemon to itself on `lane` and wait until its inbox holds them. */
  async function sendToSelf (d: Daemon, c: MirnetClient, texts: string[], lane = ''): Promise<void> {
    const before = d.net.inbox.length
    await c.send({ messages: texts.map(t => ({ destinations: [d.info.nodeId], payload: text(t), lane })) })
    await eventually(`${texts.length} more messages in the inbox`, () => d.net.inbox.length === before + texts.length)
  }

  /** The promises of the inbox waits Pull calls start, in order (they run as they would). */
  function watchInboxWaits (d: Daemon): Array<Promise<boolean>> {
    const inbox = d.net.inbox
    const wait = inbox.wait.bind(inbox)
    const waits: Array<Promise<boolean>> = []
    jest.spyOn(inbox, 'wait').mockImplementation(async (signal, mask) => {
      const p = wait(signal, mask)
      waits.push(p)
      return await p
    })
    return waits
  }

  async function totals (c: MirnetClient): Promise<Totals> {
    const t = (await c.getStatus({})).totals
    return { delivered: t?.deliveredMessages ?? -1n, abandoned: t?.abandonedMessages ?? -1n, inbox: t?.inboxMessages ?? -1n }
  }

  /** GetStatus's totals once `done` holds of them (a counter with no event of its own), failing after 10 s. */
  async function totalsWhen (c: MirnetClient, what: string, done: (t: Totals) => boolean): Promise<Totals> {
    const deadline = Date.now() + 10_000
    for (;;) {
      const t = await totals(c)
      if (done(t)) return t
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(t, (_, v: unknown) => typeof v === 'bigint' ? String(v) : v)}`)
      await new Promise(resolve => setTimeout(resolve, 10))
    }
  }

  describe('with messages waiting', () => {
    it('returns them in arrival order, at most max_messages, and leaves the rest for the next Pull: none lost, none twice', async () => {
      const { d, c } = await start('a')
      const sent = Array.from({ length: 10 }, (_, i) => `m${i}`)
      await sendToSelf(d, c, sent)
      const first = await pullMessages(c, { maxMessages: 4 })
      expect(first.map(m => [m.from, m.lane])).toEqual(Array.from({ length: 4 }, () => ['a', 'consensus']))
      const second = await pullMessages(c, { maxMessages: 4 })
      const third = await pullMessages(c, { maxMessages: 4, waitMs: 5_000 })
      expect([payloads(first), payloads(second), payloads(third)]).toEqual([sent.slice(0, 4), sent.slice(4, 8), sent.slice(8)])
      expect(await pullMessages(c)).toEqual([])
      expect(await totals(c)).toEqual({ delivered: 10n, abandoned: 0n, inbox: 0n })
    })

    it('returns 256 with max_messages 0, and stops a response before 4 MiB of payload', async () => {
      const { d, c } = await start('a')
      await sendToSelf(d, c, Array.from({ length: 300 }, (_, i) => `m${i}`))
      expect((await pullMessages(c)).length).toBe(256)
      expect((await pullMessages(c)).length).toBe(44)
      const big = new Uint8Array(3 * 1024 * 1024).fill(1)
      await c.send({ messages: [1, 2, 3].map(() => ({ destinations: ['a'], payload: big })) })
      await eventually('the large messages in the inbox', () => d.net.inbox.length === 3)
      // each is alone in its response: a second would pass 4 MiB
      for (let i = 0; i < 3; i++) expect((await pullMessages(c, { maxMessages: 10 })).map(m => m.payload.byteLength)).toEqual([big.byteLength])
    })
  })

  describe('with no message waiting', () => {
    it('returns an empty response at once with wait_ms 0, and after wait_ms otherwise', async () => {
      const { c } = await start('a')
      expect(await pullMessages(c, { waitMs: 0 })).toEqual([])
      const started = performance.now()
      expect(await pullMessages(c, { waitMs: 300 })).toEqual([])
      const took = performance.now() - started
      expect(took).toBeGreaterThanOrEqual(290)
      expect(took).toBeLessThan(5_000)
    })

    it('returns as soon as a message arrives while it waits, with that message', async () => {
      const { d, c } = await start('a')
      const waits = watchInboxWaits(d)
      const started = performance.now()
      const pulled = pullMessages(c, { waitMs: 30_000 })
      await eventually('the Pull to wait', () => waits.length === 1)
      await c.send({ messages: [{ destinations: ['a'], payload: text('fresh') }] })
      expect(payloads(await pulled)).toEqual(['fresh'])
      expect(performance.now() - started).toBeLessThan(10_000)
      expect(await totals(c)).toEqual({ delivered: 1n, abandoned: 0n, inbox: 0n })
    })

    it('fails with DEADLINE_EXCEEDED when the call\'s deadline passes first, taking nothing', async () => {
      const { d, c } = await start('a')
      const waits = watchInboxWaits(d)
      expect((await codeOf(pullMessages(c, { waitMs: 30_000, timeoutMs: 200 }))).code).toBe(Code.DeadlineExceeded)
      // the daemon ended the wait too: a message that comes now stays in the inbox
      await expect(waits[0]).rejects.toMatchObject({ name: 'AbortError' })
      await sendToSelf(d, c, ['after'])
      expect(payloads(await pullMessages(c))).toEqual(['after'])
      expect(await totals(c)).toEqual({ delivered: 1n, abandoned: 0n, inbox: 0n })
    })

    it('fails with UNAVAILABLE when the daemon stops while it waits', async () => {
      const { d, c } = await start('a')
      const waits = watchInboxWaits(d)
      const pulled = codeOf(pullMessages(c, { waitMs: 30_000 }))
      await eventually('the Pull to wait', () => waits.length === 1)
      await d.stop()
      expect(await pulled).toEqual({ code: Code.Unavailable, message: 'the daemon is shutting down' })
    })
  })

  describe('lanes', () => {
    it('takes only the lanes asked for, strict lane first, and is not woken by another lane', async () => {
      const { d, c } = await start('a')
      await sendToSelf(d, c, ['b0', 'b1'], 'bulk')
      await sendToSelf(d, c, ['d0', 'd1'])
      await sendToSelf(d, c, ['c0'], 'control')
      expect(lanesAndPayloads(await pullMessages(c, { lanes: ['bulk'] }))).toEqual([['bulk', 'b0'], ['bulk', 'b1']])
      expect(lanesAndPayloads(await pullMessages(c, { lanes: ['consensus', 'control'], maxMessages: 2 }))).toEqual([['control', 'c0'], ['consensus', 'd0']])
      // waiting on bulk, a consensus message does not end the wait, and stays for a Pull of its lane
      const waits = watchInboxWaits(d)
      const bulk = pullMessages(c, { lanes: ['bulk'], waitMs: 500 })
      await eventually('the Pull to wait', () => waits.length === 1)
      await sendToSelf(d, c, ['d2'])
      expect(await bulk).toEqual([])
      expect(lanesAndPayloads(await pullMessages(c))).toEqual([['consensus', 'd1'], ['consensus', 'd2']])
    })

    it('fails an unknown lane with INVALID_ARGUMENT naming it, taking nothing', async () => {
      const { d, c } = await start('a')
      await sendToSelf(d, c, ['kept'], 'control')
      expect(await codeOf(pullMessages(c, { lanes: ['control', 'gossip'], waitMs: 1_000 })))
        .toEqual({ code: Code.InvalidArgument, message: `lanes[1]: lane "gossip" is not configured ${KNOWN}` })
      expect(payloads(await pullMessages(c))).toEqual(['kept'])
    })
  })

  describe('consecutive Pulls of a stream of messages', () => {
    it('get every message from another daemon once, FIFO, two pullers sharing them', async () => {
      const A = await start('a')
      const B = await start('b')
      await connectDaemons([A, B])
      const { c: ca, d: a } = A
      const { c: cb, d: b } = B
      const n = 3_000
      const got: number[][] = [[], []]
      let total = 0
      const puller = async (mine: number[]): Promise<void> => {
        while (total < n) {
          const ms = await pullMessages(cb, { maxMessages: 37, waitMs: 200 })
          for (const m of ms) mine.push(Number(str(m.payload)))
          total += ms.length
        }
      }
      const pulling = Promise.all([puller(got[0]), puller(got[1])])
      // batches within the lane's queue (512), each sent once the one before left it: nothing dropped
      for (let i = 0; i < n; i += 250) {
        await ca.send({ messages: Array.from({ length: 250 }, (_, j) => ({ destinations: ['b'], payload: text(String(i + j)) })) })
        await eventually('the batch to leave a\'s queue', () => peer(a.net, 'b')?.queued === 0)
      }
      await pulling
      expect(peer(a.net, 'b')?.droppedMessages).toBe(0)
      // each puller's share in order; together every message exactly once
      for (const mine of got) expect(mine).toEqual([...mine].sort((x, y) => x - y))
      expect([...got[0], ...got[1]].sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i))
      expect(await totals(cb)).toEqual({ delivered: BigInt(n), abandoned: 0n, inbox: 0n })
    })

    it('share the inbox with a Receive stream: each message goes to one of them', async () => {
      const { d, c } = await start('a')
      await sendToSelf(d, c, ['p0', 'p1', 'r0'])
      expect(payloads(await pullMessages(c, { maxMessages: 2 }))).toEqual(['p0', 'p1'])
      for await (const m of receiveMessages(c, { timeoutMs: 10_000 })) {
        expect(str(m.payload)).toBe('r0')
        break
      }
      expect(await pullMessages(c)).toEqual([])
    })
  })

  describe('a response that does not reach the client', () => {
    it('counts its messages as abandoned when the client resets the call before reading it', async () => {
      const { d, c } = await start('a')
      await sendToSelf(d, c, ['x0', 'x1', 'x2'])
      // a client whose stream window is 0: the response's data cannot leave the daemon
      const session = http2Connect(`http://${d.info.api}`, { settings: { initialWindowSize: 0 } })
      try {
        const body = toBinary(PullRequestSchema, create(PullRequestSchema, { maxMessages: 10 }))
        const envelope = Buffer.alloc(5 + body.byteLength)
        envelope.writeUInt32BE(body.byteLength, 1)
        envelope.set(body, 5)
        const req = session.request({ ':method': 'POST', ':path': '/mirnet.v1.TransportService/Pull', 'content-type': 'application/grpc', te: 'trailers' })
        const closed = new Promise(resolve => req.once('close', resolve))
        req.once('response', () => { req.close(h2.NGHTTP2_CANCEL) })
        req.end(envelope)
        await closed
      } finally {
        session.close()
      }
      // the daemon sees the stream close when the reset arrives
      expect(await totalsWhen(c, 'the daemon to count the reset response', t => t.abandoned > 0n)).toEqual({ delivered: 3n, abandoned: 3n, inbox: 0n })
    })
  })

  describe('with a bearer token and metrics', () => {
    it('refuses a Pull without the token (connect-es and grpc-js), taking nothing, and counts every call', async () => {
      const d = await Daemon.start({
        nodeId: 's',
        privateKey: await generateKey(),
        listen: ['/ip4/127.0.0.1/tcp/0'],
        apiHost: '127.0.0.1',
        apiPort: 0,
        apiToken: TOKEN,
        metrics: { host: '127.0.0.1', port: 0 },
        logger: silentLogger
      })
      daemons.push(d)
      const authed = createMirnetClient(d.info.api, { token: TOKEN })
      await sendToSelf(d, authed, ['secret'])
      expect((await codeOf(pullMessages(createMirnetClient(d.info.api), { waitMs: 1_000 }))).code).toBe(Code.Unauthenticated)
      expect((await codeOf(pullMessages(createMirnetClient(d.info.api, { token: `${TOKEN}x` })))).code).toBe(Code.Unauthenticated)
      const grpc = grpcJsClient(d.info.api)
      try {
        const refused = await new Promise<ServiceError | null>(resolve => {
          grpc.pull({ maxMessages: 1 }, new Metadata(), (err: ServiceError | null) => { resolve(err) })
        })
        expect(refused?.code).toBe(GrpcStatus.UNAUTHENTICATED)
        const md = new Metadata()
        md.set('authorization', `Bearer ${TOKEN}`)
        const res = await new Promise<{ messages: Pulled }>((resolve, reject) => {
          grpc.pull({ maxMessages: 1 }, md, (err: ServiceError | null, r: { messages: Pulled }) => { if (err === null) resolve(r); else reject(err) })
        })
        expect(payloads(res.messages)).toEqual(['secret'])
      } finally {
        grpc.close()
      }
      expect(await pullMessages(authed)).toEqual([])
      const s = await scrape(d.info.metrics as string)
      const count = (code: string): number => s.count('mirnet_rpc_duration_seconds', { service: 'mirnet.v1.TransportService', method: 'Pull', code })
      expect({ unauthenticated: count('unauthenticated'), ok: count('ok') }).toEqual({ unauthenticated: 3, ok: 2 })
      expect(s.value('mirnet_receive_delivered_messages_total')).toBe(1)
    })
  })
})
