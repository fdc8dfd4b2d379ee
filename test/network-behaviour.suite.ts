import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { encodeHeader } from '../src/core/frame-codec.ts'
import { encodeStreamOpening, newIncarnation } from '../src/core/link-protocol.ts'
import { eventually, numbered, parseNumbered, peer, peerState, receive } from './helpers/wait.ts'
import { connectAll, membershipOf } from './helpers/harness.ts'
import type { Harness, TestNode } from './helpers/harness.ts'
import type { Channel } from '../src/core/transport.ts'
import type { NetworkModuleInit } from '../src/core/config.ts'

/** Open a raw channel to `node` (its hello written unless `hello` is false) and report how it ends. */
async function rawChannel (harness: Harness, node: TestNode, hello = true): Promise<{ channel: Channel, identity: string, closed: Promise<Error | undefined> }> {
  const raw = await harness.createRawTransport()
  const channel = await raw.dial(node.address, { signal: AbortSignal.timeout(5000) })
  if (hello) channel.send(encodeStreamOpening(newIncarnation(), [0, 0, 0]))
  const closed = new Promise<Error | undefined>(resolve => {
    channel.setHandler({
      onData: () => {},
      onDrain: () => {},
      onIdle: () => {},
      onEnd: () => {},
      onClose: err => { resolve(err) }
    })
  })
  return { channel, identity: raw.localIdentity, closed }
}

/**
 * The behaviour the core promises, run against one transport. Every
 * transport runs the very same tests.
 */
export function describeNetworkBehaviour (makeHarness: () => Harness): void {
  let harness: Harness

  beforeEach(() => { harness = makeHarness() })
  afterEach(async () => { await harness.cleanup() })

  const fast = { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100 }
  /** For a node whose peer does not dial it back: whichever peer id sorts lower, it dials at once instead of yielding dialYieldMs (5 s) first. */
  const dialsAtOnce = { dialYieldMs: 0 }

  describe('self-delivery', () => {
    it('delivers messages to the own node without the network, in order', async () => {
      const a = await harness.createNode('a')
      a.module.connect(membershipOf(a))
      for (let i = 0; i < 100; i++) expect(a.module.sendTo('a', numbered('a', i))).toBe('queued')
      const got = await receive(a.module, 100)
      expect(got.map(m => m.from)).toEqual(new Array(100).fill('a'))
      expect(got.map(m => parseNumbered(m.payload).seq)).toEqual([...Array(100).keys()])
      expect(peer(a.module, 'a')).toMatchObject({ state: 'local', sentMessages: 100 })
    })

    it('holds self messages in a bounded drop-oldest queue while the inbox is full', async () => {
      const a = await harness.createNode('a', { inboxCapacity: 10, queueCapacity: 20 })
      for (let i = 0; i < 100; i++) a.module.sendTo('a', numbered('a', i))
      // the queue kept the 20 most recent; 10 of them moved to the inbox, which is then full
      await eventually('inbox to fill', () => a.module.inbox.full(a.module.config.defaultLane))
      expect(peer(a.module, 'a')).toMatchObject({ queued: 10, droppedMessages: 80 })
      for (let i = 100; i < 130; i++) a.module.sendTo('a', numbered('a', i))
      expect(peer(a.module, 'a')).toMatchObject({ queued: 20, droppedMessages: 100 })
      const got = await receive(a.module, 30)
      expect(got.map(m => parseNumbered(m.payload).seq)).toEqual([
        ...Array.from({ length: 10 }, (_, i) => 80 + i),
        ...Array.from({ length: 20 }, (_, i) => 110 + i)
      ])
    })
  })

  describe('all to all', () => {
    it('three nodes exchange 10,000 messages each way with none lost and FIFO per sender', async () => {
      const perPair = 10_000
      const nodes = await Promise.all(['a', 'b', 'c'].map(async id => await harness.createNode(id, { queueCapacity: perPair })))
      await connectAll(...nodes)
      const ids = nodes.map(n => n.nodeId)
      for (const n of nodes) {
        for (let i = 0; i < perPair; i++) {
          for (const d of ids) if (d !== n.nodeId) expect(n.module.sendTo(d, numbered(n.nodeId, i, 64))).toBe('queued')
        }
      }
      const results = await Promise.all(nodes.map(async n => await receive(n.module, perPair * 2, 60_000)))
      for (const [i, got] of results.entries()) {
        const next = new Map<string, number>()
        for (const m of got) {
          const { sender, seq } = parseNumbered(m.payload)
          expect(m.from).toBe(sender)
          expect(seq).toBe(next.get(sender) ?? 0)
          next.set(sender, seq + 1)
        }
        expect([...next.values()]).toEqual([perPair, perPair])
        const stats = nodes[i].module.stats()
        for (const p of stats.peers) expect(p.droppedMessages).toBe(0)
      }
    })
  })

  describe('Dispatcher', () => {
    it('delivers what was queued while the peer was down, in order, after it restarts', async () => {
      const a = await harness.createNode('a', fast)
      const b = await harness.createNode('b')
      await connectAll(a, b)
      await b.module.close()
      await peerState(a.module, 'b', ['connecting', 'backoff'])
      for (let i = 0; i < 200; i++) expect(a.module.sendTo('b', numbered('a', i))).toBe('queued')
      expect(peer(a.module, 'b')?.queued).toBe(200)

      const b2 = await harness.restartNode(b)
      b2.module.connect(membershipOf(a, b2))
      const got = await receive(b2.module, 200)
      expect(got.map(m => parseNumbered(m.payload).seq)).toEqual([...Array(200).keys()])
      expect(got.every(m => m.from === 'a')).toBe(true)
      expect(peer(a.module, 'b')).toMatchObject({ state: 'open', queued: 0, droppedMessages: 0 })
      expect(peer(a.module, 'b')?.reconnects).toBeGreaterThanOrEqual(1)
    })

    it('keeps memory bounded while a destination is down: the queue drops its oldest and counts it', async () => {
      const a = await harness.createNode('a', { ...fast, queueCapacity: 512, queueMaxBytes: 16 * 1024 * 1024, maxFrameBytes: 1024 * 1024 })
      const b = await harness.createNode('b')
      const membership = membershipOf(a, b)
      await b.module.close()
      a.module.connect(membership)
      const payload = new Uint8Array(1024)
      const total = 200_000
      const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
      let dropped = 0
      for (let i = 0; i < total; i++) {
        if (a.module.sendTo('b', payload.slice()) === 'dropped-oldest') dropped++
      }
      const heapAfter = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
      const stats = peer(a.module, 'b')
      expect(stats?.queued).toBe(512)
      expect(stats?.queuedBytes).toBe(512 * 1024)
      expect(stats?.droppedMessages).toBe(total - 512)
      expect(dropped).toBe(total - 512)
      expect(stats?.sentMessages).toBe(0)
      // 200 MB went through; what stays is the queue (0.5 MB) plus garbage not yet collected
      expect(heapAfter - heapBefore).toBeLessThan(120 * 1024 * 1024)
    })

    it('redials a member whose address changed', async () => {
      const a = await harness.createNode('a', fast)
      const b = await harness.createNode('b')
      const c = await harness.createNode('c')
      await connectAll(a, b)
      // node "b" moves: from now on it is the node at c's address and identity
      a.module.connect([{ id: 'a', address: a.address }, { id: 'b', address: c.address }])
      c.module.connect([{ id: 'a', address: a.address }, { id: 'c', address: c.address }])
      await peerState(a.module, 'b', ['open'])
      expect(peer(a.module, 'b')?.address).toBe(c.address)
      a.module.sendTo('b', numbered('a', 1))
      const [m] = await receive(c.module, 1)
      expect(m.from).toBe('a')
    })

    it('of two members connecting at once, the one whose identity sorts higher dials only after the other\'s stream arrived', async () => {
      const x = await harness.createNode('x')
      const y = await harness.createNode('y')
      const [low, high] = x.identity < y.identity ? [x, y] : [y, x]
      const inboundAtDial: boolean[] = []
      const dial = high.transport.dial.bind(high.transport)
      high.transport.dial = async (address, options) => {
        inboundAtDial.push(peer(high.module, low.nodeId)?.inboundOpen === true)
        return await dial(address, options)
      }
      await connectAll(high, low)
      expect(inboundAtDial).toEqual([true])
      low.module.sendTo(high.nodeId, numbered(low.nodeId, 1))
      high.module.sendTo(low.nodeId, numbered(high.nodeId, 1))
      expect((await receive(high.module, 1))[0].from).toBe(low.nodeId)
      expect((await receive(low.module, 1))[0].from).toBe(high.nodeId)
    })

    it('dials a member that does not dial first after dialYieldMs', async () => {
      const yieldMs = 400
      const x = await harness.createNode('x', { dialYieldMs: yieldMs })
      const y = await harness.createNode('y', { dialYieldMs: yieldMs })
      const [low, high] = x.identity < y.identity ? [x, y] : [y, x]
      // only the higher one lists the other: nobody dials it first
      const t0 = performance.now()
      high.module.connect(membershipOf(high, low))
      await peerState(high.module, low.nodeId, ['open'])
      expect(performance.now() - t0).toBeGreaterThanOrEqual(yieldMs)
    })

    it('the member whose identity sorts lower dials at once, however long the yield', async () => {
      const x = await harness.createNode('x', { dialYieldMs: 60_000 })
      const y = await harness.createNode('y', { dialYieldMs: 60_000 })
      const [low, high] = x.identity < y.identity ? [x, y] : [y, x]
      low.module.connect(membershipOf(low, high))
      await peerState(low.module, high.nodeId, ['open'], 10_000)
    })

    it('applies the same membership twice as no change', async () => {
      const a = await harness.createNode('a')
      const b = await harness.createNode('b')
      await connectAll(a, b)
      const change = a.module.connect(membershipOf(a, b))
      expect(change).toEqual({ added: [], removed: [], changed: [] })
      expect(peer(a.module, 'b')).toMatchObject({ state: 'open', reconnects: 0 })
    })
  })

  describe('TentativeReceiver', () => {
    it('holds a non-member\'s messages until connect() adds it, then delivers them in order', async () => {
      const a = await harness.createNode('a', dialsAtOnce)
      const b = await harness.createNode('b')
      a.module.connect(membershipOf(a, b)) // a knows b; b does not know a yet
      b.module.connect(membershipOf(b))
      await peerState(a.module, 'b', ['open'])
      for (let i = 0; i < 50; i++) a.module.sendTo('b', numbered('a', i))
      const held = await eventually('b to hold 50 messages from a', () =>
        b.module.stats().tentative.find(t => t.identity === a.identity && t.heldMessages === 50))
      expect(held.receivedMessages).toBe(50)
      expect(b.module.inbox.length).toBe(0)

      b.module.connect(membershipOf(a, b))
      for (let i = 50; i < 60; i++) a.module.sendTo('b', numbered('a', i))
      const got = await receive(b.module, 60)
      expect(got.every(m => m.from === 'a')).toBe(true)
      expect(got.map(m => parseNumbered(m.payload).seq)).toEqual([...Array(60).keys()])
      expect(b.module.stats().tentative).toEqual([])
      expect(peer(b.module, 'a')).toMatchObject({ receivedMessages: 60, inboundOpen: true })
    })

    it('keeps only the most recent messages of a non-member', async () => {
      const a = await harness.createNode('a', dialsAtOnce)
      const b = await harness.createNode('b', { tentativeMaxMessages: 10 })
      a.module.connect(membershipOf(a, b))
      b.module.connect(membershipOf(b))
      for (let i = 0; i < 30; i++) a.module.sendTo('b', numbered('a', i))
      await eventually('b to receive 30 tentative messages', () =>
        b.module.stats().tentative.find(t => t.receivedMessages === 30))
      expect(b.module.stats().tentative[0]).toMatchObject({ heldMessages: 10, droppedMessages: 20 })
      b.module.connect(membershipOf(a, b))
      const got = await receive(b.module, 10)
      expect(got.map(m => parseNumbered(m.payload).seq)).toEqual(Array.from({ length: 10 }, (_, i) => 20 + i))
      // the promoted receiver's drops stay counted
      expect(b.module.stats().tentativeLosses).toEqual({ droppedMessages: 20, evictedMessages: 0, closedMessages: 0 })
    })

    it('bounds what it holds for a non-member in bytes too', async () => {
      const a = await harness.createNode('a', dialsAtOnce)
      const b = await harness.createNode('b', { tentativeMaxBytes: 1000 })
      a.module.connect(membershipOf(a, b))
      b.module.connect(membershipOf(b))
      for (let i = 0; i < 10; i++) a.module.sendTo('b', numbered('a', i, 300))
      const held = await eventually('b to receive 10 tentative messages', () =>
        b.module.stats().tentative.find(t => t.receivedMessages === 10))
      expect(held).toMatchObject({ heldMessages: 3, heldBytes: 900, droppedMessages: 7 })
    })

    it('evicts the least recently created when past the cap', async () => {
      const b = await harness.createNode('b', { tentativeMaxReceivers: 2 })
      b.module.connect(membershipOf(b))
      // raw senders: a Dispatcher would redial after the eviction and come back as the newest
      const senders: Array<Awaited<ReturnType<typeof rawChannel>>> = []
      for (let i = 0; i < 3; i++) {
        const s = await rawChannel(harness, b)
        s.channel.send(Uint8Array.of(1, i))
        await eventually(`a tentative receiver for sender ${i}`, () =>
          b.module.stats().tentative.find(t => t.identity === s.identity && t.heldMessages === 1))
        senders.push(s)
      }
      expect(await senders[0].closed).toBeInstanceOf(Error)
      const stats = b.module.stats()
      expect(stats.tentative.map(t => t.identity)).toEqual([senders[1].identity, senders[2].identity])
      expect(stats.tentativeEvicted).toBe(1)
      expect(stats.tentativeLosses).toEqual({ droppedMessages: 0, evictedMessages: 1, closedMessages: 0 })
      // a sender that goes away loses what its receiver held
      senders[1].channel.abort(new Error('sender gone'))
      await eventually('the closed receiver to leave the pool', () => b.module.stats().tentative.length === 1)
      expect(b.module.stats().tentativeLosses).toEqual({ droppedMessages: 0, evictedMessages: 1, closedMessages: 1 })
    })
  })

  describe('membership', () => {
    it('closes both directions of a removed member', async () => {
      const a = await harness.createNode('a', fast)
      const b = await harness.createNode('b', fast)
      await connectAll(a, b)
      expect(peer(a.module, 'b')?.inboundOpen).toBe(true)
      const sawBLeaveOpen = peerState(b.module, 'a', ['connecting', 'backoff'])

      const change = a.module.connect(membershipOf(a))
      expect(change.removed).toEqual(['b'])
      expect(peer(a.module, 'b')).toBeUndefined()
      // b's outbound stream to a was closed by a
      await sawBLeaveOpen
      // a's outbound stream to b is gone: b's receiver from a closes
      await eventually('b to see its inbound stream from a close', () => peer(b.module, 'a')?.inboundOpen === false)
      // b keeps redialing; a only holds it as tentative
      b.module.sendTo('a', numbered('b', 1))
      await eventually('a to hold b as tentative', () => a.module.stats().tentative.find(t => t.identity === b.identity))
      expect(a.module.inbox.length).toBe(0)
    })

    it('rejects invalid memberships with a named error and applies nothing', async () => {
      const a = await harness.createNode('a')
      const b = await harness.createNode('b')
      a.module.connect(membershipOf(a))
      const cases: Array<[string, Array<{ id: string, address: string }>]> = [
        ['EmptyNodeIdError', [{ id: '', address: b.address }]],
        ['DuplicateNodeIdError', [{ id: 'b', address: b.address }, { id: 'b', address: b.address }]],
        ['DuplicatePeerIdError', [{ id: 'b', address: b.address }, { id: 'c', address: b.address }]],
        ['InvalidAddressError', [{ id: 'b', address: b.address }, { id: 'c', address: harness.invalidAddress }]],
        ['MissingPeerIdError', [{ id: 'b', address: b.address }, { id: 'c', address: harness.addressWithoutIdentity }]],
        ['SelfMismatchError', [{ id: 'a', address: b.address }]]
      ]
      for (const [name, membership] of cases) {
        let error: unknown
        try { a.module.connect(membership) } catch (err) { error = err }
        expect(error).toBeInstanceOf(Error)
        expect((error as Error).name).toBe(name)
        expect((error as Error).message).toMatch(/entry \d/)
        expect(a.module.members()).toEqual(['a'])
      }
    })

    it('reports unknown destinations and refuses oversized payloads', async () => {
      const a = await harness.createNode('a', { maxFrameBytes: 1024, queueMaxBytes: 1024 })
      expect(a.module.send(['a', 'nobody'], new Uint8Array(10))).toEqual(['queued', 'unknown-destination'])
      expect(() => a.module.sendTo('a', new Uint8Array(1025))).toThrow(expect.objectContaining({ name: 'PayloadTooLargeError' }))
      expect(() => { a.module.assertMembers(['a', 'nobody']) }).toThrow(expect.objectContaining({ name: 'UnknownDestinationError' }))
    })

    it('waitFor resolves when enough members connect and rejects on abort and on close', async () => {
      const a = await harness.createNode('a', dialsAtOnce)
      const b = await harness.createNode('b')
      await expect(a.module.waitFor(1)).resolves.toBeUndefined()
      const aborted = a.module.waitFor(3, { signal: AbortSignal.timeout(50) })
      await expect(aborted).rejects.toMatchObject({ name: 'AbortError' })
      const pending = a.module.waitFor(2)
      a.module.connect(membershipOf(a, b))
      await expect(pending).resolves.toBeUndefined()
      const never = expect(a.module.waitFor(5)).rejects.toMatchObject({ name: 'ModuleClosedError' })
      await a.module.close()
      await never
      await expect(a.module.waitFor(1)).rejects.toMatchObject({ name: 'ModuleClosedError' })
    })
  })

  describe('Receiver', () => {
    it('authenticates the sender: a peer with another key at a member\'s address is never that member', async () => {
      const a = await harness.createNode('a', { ...fast, ...dialsAtOnce })
      const b = await harness.createNode('b')
      const impostor = await harness.createNode('b', dialsAtOnce)
      // a believes b lives at the impostor's address
      a.module.connect([{ id: 'a', address: a.address }, { id: 'b', address: harness.withIdentity(impostor.address, b.identity) }])
      impostor.module.connect([{ id: 'a', address: a.address }, { id: 'b', address: impostor.address }])
      for (let i = 0; i < 5; i++) impostor.module.sendTo('a', numbered('b', i))
      await eventually('a to hold the impostor as tentative', () =>
        a.module.stats().tentative.find(t => t.identity === impostor.identity && t.heldMessages === 5))
      await eventually('a\'s dial to the impostor to fail', () => peer(a.module, 'b')?.lastError)
      expect(peer(a.module, 'b')?.state).not.toBe('open')
      expect(peer(a.module, 'b')?.receivedMessages).toBe(0)
      expect(a.module.inbox.length).toBe(0)
    })

    it('closes only the stream that sends an oversized frame header', async () => {
      const a = await harness.createNode('a', { maxFrameBytes: 1024, queueMaxBytes: 1024 })
      const b = await harness.createNode('b')
      const raw = await rawChannel(harness, a)
      await connectAll(a, b)
      a.module.connect([...membershipOf(a, b), { id: 'r', address: harness.withIdentity(b.address, raw.identity) }])
      // claims 2^40 bytes: must be refused from the header alone
      raw.channel.send(encodeHeader(2 ** 40))
      expect(await raw.closed).toBeInstanceOf(Error)
      b.module.sendTo('a', numbered('b', 1))
      const [m] = await receive(a.module, 1)
      expect(m.from).toBe('b')
      expect(peer(a.module, 'r')?.receivedMessages).toBe(0)
    })

    it('closes only the stream that sends garbage, from a member or not', async () => {
      const a = await harness.createNode('a', { maxFrameBytes: 1024, queueMaxBytes: 1024 })
      const b = await harness.createNode('b')
      await connectAll(a, b)
      const stranger = await rawChannel(harness, a)
      stranger.channel.send(new Uint8Array(64).fill(0xff))
      expect(await stranger.closed).toBeInstanceOf(Error)
      const member = await rawChannel(harness, a)
      a.module.connect([...membershipOf(a, b), { id: 'm', address: harness.withIdentity(b.address, member.identity) }])
      member.channel.send(Uint8Array.of(3, 1, 2, 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80))
      expect(await member.closed).toBeInstanceOf(Error)
      b.module.sendTo('a', numbered('b', 1))
      const got = await receive(a.module, 2)
      // the well-formed frame before the garbage was delivered as the member's; b is unaffected
      expect(got.map(m => m.from).sort()).toEqual(['b', 'm'])
    })

    it('closes a stream whose first frame is not a hello', async () => {
      const a = await harness.createNode('a')
      const b = await harness.createNode('b')
      await connectAll(a, b)
      const raw = await rawChannel(harness, a, false)
      a.module.connect([...membershipOf(a, b), { id: 'r', address: harness.withIdentity(b.address, raw.identity) }])
      raw.channel.send(Uint8Array.of(2, 0x68, 0x69))
      expect(await raw.closed).toBeInstanceOf(Error)
      expect(peer(a.module, 'r')?.receivedMessages).toBe(0)
      expect(a.module.inbox.length).toBe(0)
    })

    it('loses nothing across a broken connection: every message once, in order, sent = acknowledged', async () => {
      const a = await harness.createNode('a', { ...fast, queueCapacity: 50_000, windowMessages: 1_000 })
      // a credit up to the capacity from the start, so that b's inbox fills while nobody reads
      const b = await harness.createNode('b', { inboxCapacity: 100, inboxMinCredit: 100 })
      await connectAll(a, b)
      const total = 5_000
      for (let i = 0; i < total; i++) a.module.sendTo('b', numbered('a', i, 256))
      await eventually('b\'s inbox to fill', () => b.module.inbox.full(b.module.config.defaultLane))
      // b drops its connections to a while a's window is out: a resumes where b's answer says
      await b.transport.disconnect(a.identity)
      const got = (await receive(b.module, total, 30_000)).map(m => parseNumbered(m.payload).seq)
      expect(got).toEqual([...Array(total).keys()])
      const settled = await eventually('a\'s counts to settle', () => {
        const s = peer(a.module, 'b')
        return s !== undefined && s.unconfirmedMessages === 0 && s.queued === 0 ? s : undefined
      }, 30_000)
      expect(settled).toMatchObject({ sentMessages: total, acknowledgedMessages: total, lostInFlightMessages: 0, droppedMessages: 0 })
      expect(peer(a.module, 'b')?.reconnects).toBeGreaterThan(0)
      expect(peer(b.module, 'a')?.receivedMessages).toBe(total)
      expect(b.module.inbox.length).toBe(0)
    })

    it('holds a lane nobody reads back by its credit: the sender writes the first credit only, its queue drops oldest from the start', async () => {
      const a = await harness.createNode('a', { queueCapacity: 1000, windowMessages: 200 })
      const b = await harness.createNode('b', { inboxCapacity: 100 })
      await connectAll(a, b)
      const total = 200_000
      const payload = new Uint8Array(256)
      for (let i = 0; i < total; i += 1000) {
        for (let j = 0; j < 1000; j++) a.module.sendTo('b', payload)
        // let the writer and the network run between bursts
        await new Promise(resolve => setImmediate(resolve))
      }
      const lane = b.module.config.defaultLane
      // a lane starts with a credit of inboxMinCredit (32); a consumer that never takes does not raise it
      const firstCredit = b.module.config.inboxMinCredit
      await eventually('b to take the first credit', () => b.module.inbox.laneLength(lane) === firstCredit)
      await eventually('a to learn that all of it arrived', () => peer(a.module, 'b')?.acknowledgedMessages === firstCredit)
      const stats = peer(a.module, 'b')
      // drops happen at the sender's queue, oldest first, from the start; nothing more is written
      expect(stats).toMatchObject({ sentMessages: firstCredit, unconfirmedMessages: 0 })
      expect(stats?.droppedMessages).toBeGreaterThan(total - 1000 - firstCredit - 1)
      expect(stats?.queued).toBeLessThanOrEqual(1000)
      expect(b.module.inbox.laneLength(lane)).toBe(firstCredit)
      expect(b.module.inbox.pace(lane).paced).toBe(true)
    })

    it('holds a sender back while its consumer is behind, and loses nothing once the consumer catches up', async () => {
      const a = await harness.createNode('a', { queueCapacity: 20_000, windowMessages: 500 })
      const b = await harness.createNode('b', { inboxCapacity: 100, inboxMaxBytes: 1024 * 1024 })
      await connectAll(a, b)
      const total = 20_000
      for (let i = 0; i < total; i++) a.module.sendTo('b', numbered('a', i, 256))
      await eventually('b to take the first credit', () => b.module.inbox.laneLength(b.module.config.defaultLane) === b.module.config.inboxMinCredit)
      // held back by the credit, not by the window
      expect(peer(a.module, 'b')?.unconfirmedMessages).toBeLessThanOrEqual(b.module.config.inboxMinCredit)
      const got = await receive(b.module, total, 60_000)
      expect(got.map(m => parseNumbered(m.payload).seq)).toEqual([...Array(total).keys()])
      expect(peer(a.module, 'b')?.droppedMessages).toBe(0)
      // the inbox never held more than its capacity
      expect(b.module.inbox.length).toBeLessThanOrEqual(100)
    })
  })

  describe('lanes', () => {
    const CONTROL = 0
    const CONSENSUS = 1
    const BULK = 2
    const laneOf = (m: { lane: string }): string => m.lane

    /** a and b connected; b then closed, so that a queues; returns a restart of b connected to a. */
    async function queueWhileDown (initA: NetworkModuleInit, fill: (a: TestNode) => void, initB: NetworkModuleInit = {}): Promise<[TestNode, TestNode]> {
      const a = await harness.createNode('a', { ...fast, ...initA })
      const b = await harness.createNode('b', initB)
      await connectAll(a, b)
      await b.module.close()
      await peerState(a.module, 'b', ['connecting', 'backoff'])
      fill(a)
      const b2 = await harness.restartNode(b, initB)
      b2.module.connect(membershipOf(a, b2))
      return [a, b2]
    }

    it('a full lane drops only its own messages: no lane can evict another lane\'s', async () => {
      const [a, b] = await queueWhileDown({ queueCapacity: 50 }, a => {
        for (let i = 0; i < 1_000; i++) {
          if (i % 100 === 0) a.module.sendTo('b', numbered('control', i / 100), CONTROL)
          a.module.sendTo('b', numbered('bulk', i, 1024), BULK)
          if (i % 100 === 50) a.module.sendTo('b', numbered('consensus', (i - 50) / 100), CONSENSUS)
        }
      })
      const got = await receive(b.module, 10 + 10 + 50)
      const seqs = (lane: string): number[] => got.filter(m => laneOf(m) === lane).map(m => parseNumbered(m.payload).seq)
      expect(seqs('control')).toEqual([...Array(10).keys()])
      expect(seqs('consensus')).toEqual([...Array(10).keys()])
      expect(seqs('bulk')).toEqual([...Array(50).keys()].map(i => 950 + i))
      const lanes = peer(a.module, 'b')?.lanes
      expect(lanes?.map(l => [l.lane, l.droppedMessages])).toEqual([['control', 0], ['consensus', 0], ['bulk', 950]])
    })

    it('interleaves a large message in chunks: a control message written after it started arrives before it', async () => {
      const a = await harness.createNode('a', fast)
      const b = await harness.createNode('b')
      await connectAll(a, b)
      const big = new Uint8Array(8 * 1024 * 1024).map((_, i) => i % 251)
      a.module.sendTo('b', big, BULK)
      await eventually('the large message to be started', () => (peer(a.module, 'b')?.lanes[BULK].sentMessages ?? 0) === 1)
      a.module.sendTo('b', numbered('vote', 0), CONTROL)
      const got = await receive(b.module, 2, 30_000)
      expect(got.map(laneOf)).toEqual(['control', 'bulk'])
      // reassembled bit for bit
      expect(Buffer.compare(got[1].payload, big)).toBe(0)
    })

    it('no lane starves: a flood on the strict lane lets the other lanes through', async () => {
      const kib = 1024
      const [, b] = await queueWhileDown({ queueCapacity: 10_000, queueMaxBytes: 64 * 1024 * 1024 }, a => {
        for (let i = 0; i < 4_000; i++) a.module.sendTo('b', numbered('control', i, kib), CONTROL)
        for (let i = 0; i < 100; i++) a.module.sendTo('b', numbered('bulk', i, kib), BULK)
      }, { inboxCapacity: 100_000 })
      const bulk = b.module.messages({ laneMask: 1 << BULK })
      const first = await bulk.next()
      expect(first.done).toBe(false)
      // when the first bulk message arrived, the strict lane had not finished: bulk was let through
      const controlSoFar = peer(b.module, 'a')?.lanes[CONTROL].receivedMessages ?? 0
      expect(controlSoFar).toBeLessThan(4_000)
      await bulk.return(undefined)
    })

    it('a lane held back by its credit does not stop the other lanes', async () => {
      const a = await harness.createNode('a', { ...fast, queueCapacity: 1_000, windowMessages: 100 })
      const b = await harness.createNode('b', { inboxCapacity: 50 })
      await connectAll(a, b)
      // nobody reads bulk: b gives it no credit past its first
      for (let i = 0; i < 1_000; i++) a.module.sendTo('b', numbered('bulk', i, 512), BULK)
      await eventually('b to take bulk\'s first credit', () => b.module.inbox.laneLength(BULK) === b.module.config.inboxMinCredit)
      await eventually('a to learn it arrived', () => peer(a.module, 'b')?.lanes[BULK].acknowledgedMessages === b.module.config.inboxMinCredit)
      const votes: number[] = []
      const reader = b.module.messages({ laneMask: 1 << CONTROL })
      for (let i = 0; i < 500; i++) a.module.sendTo('b', numbered('vote', i), CONTROL)
      for await (const m of reader) {
        votes.push(parseNumbered(m.payload).seq)
        if (votes.length === 500) break
      }
      expect(votes).toEqual([...Array(500).keys()])
      const lanes = peer(a.module, 'b')?.lanes
      expect(lanes?.[CONTROL]).toMatchObject({ sentMessages: 500, droppedMessages: 0 })
      expect(lanes?.[BULK]).toMatchObject({ sentMessages: b.module.config.inboxMinCredit, unconfirmedMessages: 0 })
      expect(b.module.inbox.laneLength(BULK)).toBe(b.module.config.inboxMinCredit)
      expect(peer(a.module, 'b')?.reconnects).toBe(0)
    })

    it('receives by lane: a reader of some lanes gets only those, FIFO per sender and lane', async () => {
      const a = await harness.createNode('a', fast)
      const b = await harness.createNode('b')
      await connectAll(a, b)
      for (let i = 0; i < 300; i++) a.module.sendTo('b', numbered('m', i), i % 3)
      const take = async (mask: number, n: number): Promise<Array<{ lane: string, seq: number }>> => {
        const out: Array<{ lane: string, seq: number }> = []
        for await (const m of b.module.messages({ laneMask: mask, signal: AbortSignal.timeout(10_000) })) {
          out.push({ lane: m.lane, seq: parseNumbered(m.payload).seq })
          if (out.length === n) break
        }
        return out
      }
      const votes = await take(1 << CONTROL, 100)
      expect(votes.every(v => v.lane === 'control')).toBe(true)
      expect(votes.map(v => v.seq)).toEqual([...Array(100).keys()].map(i => 3 * i))
      const rest = await take((1 << CONSENSUS) | (1 << BULK), 200)
      expect(rest.filter(v => v.lane === 'consensus').map(v => v.seq)).toEqual([...Array(100).keys()].map(i => 3 * i + 1))
      expect(rest.filter(v => v.lane === 'bulk').map(v => v.seq)).toEqual([...Array(100).keys()].map(i => 3 * i + 2))
    })
  })
}
