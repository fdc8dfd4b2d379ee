import { afterEach, describe, expect, it } from '@jest/globals'
import { describeNetworkBehaviour } from './network-behaviour.suite.ts'
import { MemoryHarness, membershipOf } from './helpers/harness.ts'
import type { TestNode } from './helpers/harness.ts'
import type { NetworkModuleInit } from '../src/core/config.ts'
import { eventually, numbered, parseNumbered, peer, peerState, receive } from './helpers/wait.ts'

describe('NetworkModule over the in-memory transport', () => {
  describeNetworkBehaviour(() => new MemoryHarness())
})

describe('NetworkModule keepalive (in-memory transport, which can cut a path silently)', () => {
  const harness = new MemoryHarness()
  afterEach(async () => { await harness.cleanup() })

  // a credit that does not hold the senders back: these tests are about the keepalive
  const init = { keepaliveIntervalMs: 100, keepaliveTimeoutMs: 600, idleKeepaliveIntervalMs: 300, reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100, dialTimeoutMs: 200, inboxMinCredit: 4096 }

  /** Nodes a and b, members of each other, with a's link to b open. */
  async function connectedPair (initA: NetworkModuleInit = {}, initB: NetworkModuleInit = {}): Promise<[TestNode, TestNode]> {
    const a = await harness.createNode('a', { ...init, ...initA })
    const b = await harness.createNode('b', { ...init, ...initB })
    a.module.connect(membershipOf(a, b))
    b.module.connect(membershipOf(a, b))
    await a.module.waitFor(2)
    return [a, b]
  }

  it('drops a silent connection within the timeout, reconnects after the heal, and resends what the cut lost', async () => {
    const [a, b] = await connectedPair()
    for (let i = 0; i < 100; i++) a.module.sendTo('b', numbered('a', i))
    await receive(b.module, 100)
    await eventually('the first 100 to be acknowledged', () => peer(a.module, 'b')?.acknowledgedMessages === 100)

    harness.cut(a, b)
    const cutAt = Date.now()
    // written into the dead connection: nobody can tell yet whether they arrived
    for (let i = 100; i < 150; i++) a.module.sendTo('b', numbered('a', i))
    await eventually('the 50 to be written', () => peer(a.module, 'b')?.sentMessages === 150)
    expect(peer(a.module, 'b')?.unconfirmedMessages).toBe(50)
    await peerState(a.module, 'b', ['connecting', 'backoff'])
    const detectedMs = Date.now() - cutAt
    // within the timeout plus one check (a third of it), with room for a loaded machine
    expect(detectedMs).toBeLessThan(2 * init.keepaliveTimeoutMs)
    expect(peer(a.module, 'b')?.lastError).toMatch(/PeerUnresponsiveError/)

    // queued while cut: delivered after the heal, behind the 50 resent
    for (let i = 150; i < 170; i++) a.module.sendTo('b', numbered('a', i))
    harness.heal(a, b)
    const got = await receive(b.module, 70)
    expect(got.map(m => parseNumbered(m.payload).seq)).toEqual([...Array(70).keys()].map(i => 100 + i))
    const s = await eventually('a\'s counts to settle', () => {
      const p = peer(a.module, 'b')
      return p?.unconfirmedMessages === 0 && p.acknowledgedMessages === 170 ? p : undefined
    })
    expect(s).toMatchObject({ sentMessages: 170, acknowledgedMessages: 170, lostInFlightMessages: 0, droppedMessages: 0 })
    expect(s.resentMessages).toBeGreaterThanOrEqual(50)
    expect(peer(b.module, 'a')?.receivedMessages).toBe(170)
  })

  it('drops an idle connection silent for three idle keepalive intervals', async () => {
    const [a, b] = await connectedPair()
    harness.cut(a, b)
    const cutAt = Date.now()
    await peerState(a.module, 'b', ['connecting', 'backoff'])
    const detectedMs = Date.now() - cutAt
    expect(detectedMs).toBeGreaterThanOrEqual(2 * init.idleKeepaliveIntervalMs)
    expect(detectedMs).toBeLessThan(5 * init.idleKeepaliveIntervalMs)
    expect(peer(a.module, 'b')?.lastError).toMatch(/nothing heard from the peer/)
  })

  it('drops a connection whose data is cut one way while the receiver\'s acks still arrive', async () => {
    const [a, b] = await connectedPair()
    harness.cutOneWay(a, b)
    const cutAt = Date.now()
    for (let i = 0; i < 50; i++) a.module.sendTo('b', numbered('a', i))
    await peerState(a.module, 'b', ['connecting', 'backoff'])
    expect(Date.now() - cutAt).toBeLessThan(2 * init.keepaliveTimeoutMs)
    expect(peer(a.module, 'b')?.lastError).toMatch(/acknowledged none of 50 messages/)
    harness.heal(a, b)
    const got = await receive(b.module, 50)
    expect(got.map(m => parseNumbered(m.payload).seq)).toEqual([...Array(50).keys()])
    await eventually('a\'s counts to settle', () => peer(a.module, 'b')?.acknowledgedMessages === 50)
    expect(peer(a.module, 'b')).toMatchObject({ lostInFlightMessages: 0, unconfirmedMessages: 0 })
  })

  it('sends nothing twice when the acks were lost: the answer says what arrived, and the rest is not resent', async () => {
    const [a, b] = await connectedPair()
    // b's acks to a are lost; a's messages still arrive
    harness.cutOneWay(b, a)
    for (let i = 0; i < 50; i++) a.module.sendTo('b', numbered('a', i))
    const got = await receive(b.module, 50)
    await peerState(a.module, 'b', ['connecting', 'backoff'])
    expect(peer(a.module, 'b')).toMatchObject({ unconfirmedMessages: 50, acknowledgedMessages: 0 })
    harness.heal(a, b)
    await eventually('a to learn that all 50 arrived', () => peer(a.module, 'b')?.acknowledgedMessages === 50)
    for (let i = 50; i < 60; i++) a.module.sendTo('b', numbered('a', i))
    got.push(...await receive(b.module, 10))
    expect(got.map(m => parseNumbered(m.payload).seq)).toEqual([...Array(60).keys()])
    expect(b.module.inbox.length).toBe(0)
    expect(peer(a.module, 'b')).toMatchObject({ resentMessages: 0, lostInFlightMessages: 0 })
    // held by a for resending, already at b: skipped by sequence number
    expect(peer(b.module, 'a')?.lanes[b.module.config.defaultLane].duplicateMessages).toBe(50)
    expect(peer(b.module, 'a')?.receivedMessages).toBe(60)
  })

  it('does not take a stall of its own process for a silent peer', async () => {
    const [a, b] = await connectedPair()
    // the event loop blocked for longer than the timeout: no timer, no ack ran
    const until = Date.now() + 2 * init.keepaliveTimeoutMs
    while (Date.now() < until) { /* busy */ }
    for (let i = 0; i < 10; i++) a.module.sendTo('b', numbered('a', i))
    await receive(b.module, 10)
    expect(peer(a.module, 'b')).toMatchObject({ state: 'open', reconnects: 0, lostInFlightMessages: 0 })
  })
})
