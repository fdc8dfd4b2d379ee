import { afterEach, describe, expect, it } from '@jest/globals'
import { MemoryHarness, membershipOf } from './helpers/harness.ts'
import { VirtualTime } from './helpers/virtual-time.ts'
import { numbered, parseNumbered, peer } from './helpers/wait.ts'
import type { TestNode } from './helpers/harness.ts'
import type { NetworkModuleInit } from '../src/core/config.ts'
import type { ReceivedMessage } from '../src/core/inbox.ts'

/**
 * The core's keepalive and acknowledgement timers on virtual time: the
 * in-memory transport can cut a path silently, and every time below is
 * virtual, so the bounds are the protocol's own, not a loaded machine's.
 */
describe('keepalive on virtual time (in-memory transport)', () => {
  const init = { keepaliveIntervalMs: 1_000, keepaliveTimeoutMs: 3_000, idleKeepaliveIntervalMs: 5_000, reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 1_000, dialTimeoutMs: 2_000 }
  /** The keepalive check runs every third of the timeout. */
  const checkMs = init.keepaliveTimeoutMs / 3
  let vt: VirtualTime
  let harness: MemoryHarness
  afterEach(async () => {
    await vt.drive(harness.cleanup())
    // close() leaves no timer of the core behind
    expect(vt.timers).toBe(0)
  })

  async function connectedPair (initA: NetworkModuleInit = {}, initB: NetworkModuleInit = {}): Promise<[TestNode, TestNode]> {
    vt = new VirtualTime()
    harness = new MemoryHarness({ clock: vt.clock })
    const a = await harness.createNode('a', { ...init, ...initA })
    const b = await harness.createNode('b', { ...init, ...initB })
    a.module.connect(membershipOf(a, b))
    b.module.connect(membershipOf(a, b))
    await vt.until('both links to open', () => peer(a.module, 'b')?.state === 'open' && peer(b.module, 'a')?.state === 'open', 10_000)
    return [a, b]
  }

  function take (node: TestNode, out: ReceivedMessage[]): number {
    out.push(...node.module.inbox.take(Number.MAX_SAFE_INTEGER))
    return out.length
  }

  it('notices a silent cut under traffic after the timeout, within one check, and resends after the heal', async () => {
    const [a, b] = await connectedPair()
    harness.cut(a, b)
    for (let i = 0; i < 50; i++) a.module.sendTo('b', numbered('a', i))
    const { afterMs } = await vt.until('a to drop its link', () => peer(a.module, 'b')?.state !== 'open', 10_000)
    expect(afterMs).toBeGreaterThan(init.keepaliveTimeoutMs)
    expect(afterMs).toBeLessThanOrEqual(init.keepaliveTimeoutMs + checkMs + vt.stepMs)
    // the receiver's first credit (inboxMinCredit) let 32 of them out
    expect(peer(a.module, 'b')?.lastError).toMatch(/PeerUnresponsiveError: the peer acknowledged none of 32 messages/)
    harness.heal(a, b)
    const got: ReceivedMessage[] = []
    await vt.until('the 50 to arrive', () => take(b, got) === 50, 10_000)
    expect(got.map(m => parseNumbered(m.payload).seq)).toEqual([...Array(50).keys()])
    await vt.until('a to learn they arrived', () => peer(a.module, 'b')?.acknowledgedMessages === 50, 10_000)
    expect(peer(a.module, 'b')).toMatchObject({ lostInFlightMessages: 0, droppedMessages: 0 })
  })

  it('notices a silent cut of an idle link after three idle intervals, within one check', async () => {
    const [a, b] = await connectedPair()
    harness.cut(a, b)
    const { afterMs } = await vt.until('a to drop its link', () => peer(a.module, 'b')?.state !== 'open', 60_000)
    // the last ack before the cut came up to one idle interval earlier
    expect(afterMs).toBeGreaterThan(2 * init.idleKeepaliveIntervalMs)
    expect(afterMs).toBeLessThanOrEqual(3 * init.idleKeepaliveIntervalMs + checkMs + vt.stepMs)
    expect(peer(a.module, 'b')?.lastError).toMatch(/nothing heard from the peer/)
  })

  it('keeps an idle link open for ten times the silence that would drop it: the idle acks are its heartbeat', async () => {
    const [a] = await connectedPair()
    await vt.advance(10 * 3 * init.idleKeepaliveIntervalMs)
    expect(peer(a.module, 'b')).toMatchObject({ state: 'open', reconnects: 0 })
  })

  it('keeps a link to a receiver whose inbox lane is full for ten keepalive timeouts: its held acks say so', async () => {
    const [a, b] = await connectedPair({ queueCapacity: 2_000 }, { inboxCapacity: 10 })
    for (let i = 0; i < 1_000; i++) a.module.sendTo('b', numbered('a', i, 1024))
    await vt.until('b\'s inbox lane to fill', () => b.module.inbox.full(b.module.config.defaultLane), 10_000)
    await vt.advance(10 * init.keepaliveTimeoutMs)
    expect(peer(a.module, 'b')).toMatchObject({ state: 'open', reconnects: 0 })
    const got: ReceivedMessage[] = []
    await vt.until('all 1,000 to arrive', () => take(b, got) === 1_000, 60_000)
    expect(got.map(m => parseNumbered(m.payload).seq)).toEqual([...Array(1_000).keys()])
  })

  it('acknowledges a lone message within the ack delay', async () => {
    const [a, b] = await connectedPair()
    a.module.sendTo('b', numbered('a', 0))
    await vt.until('it to arrive', () => b.module.inbox.length === 1, 1_000)
    const { afterMs } = await vt.until('its ack', () => peer(a.module, 'b')?.acknowledgedMessages === 1, 1_000)
    // ACK_DELAY_MS is 20
    expect(afterMs).toBeLessThanOrEqual(20 + vt.stepMs)
  })
})
