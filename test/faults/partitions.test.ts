import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect } from '@jest/globals'
import { NetLab, netnsUnavailableReason, nftUnavailableReason } from '../helpers/netns.ts'
import { Scratch } from '../helpers/processes.ts'
import { balancedLedger, settle, totals } from './accounting.ts'
import { FaultNode } from './fault-node.ts'
import { median, round } from './proc.ts'
import { report, scale, trace } from './scale.ts'
import { waitForPeerState } from './status-wait.ts'
import { Consumer, Sender, stopTraffic } from './traffic.ts'
import type { NetHost } from '../helpers/netns.ts'
import type { Flow, Ledger } from './accounting.ts'
import { describeWhereAvailable } from '../helpers/requires.ts'
import { transportsOf, itOn, quickOn } from './transports.ts'
import type { DaemonTransport } from '../../src/daemon/daemon.ts'

/** The transports besides libp2p the representative case runs on under npm test (the quick form; see transports.ts). */
const QUICK_ALSO: DaemonTransport[] = ['grpc']

const unavailable = netnsUnavailableReason() ?? nftUnavailableReason()
const describeNetns = describeWhereAvailable('faults/partitions', unavailable)

const CUTS = scale(2, 50)
/**
 * Cuts of the representative case on gRPC in the quick form (the other
 * cases, and TLS, run under --full only): npm test's time stays short.
 */
const OTHER_TRANSPORT_QUICK_CUTS = 1
const ONE_WAY_CUTS = scale(1, 5)
/**
 * 10 s in the short form: at 30% loss each way, TCP sometimes backs off for
 * seconds and the keepalive then reopens the link under the same loss, so a
 * 5 s window once saw nothing arrive one way (a CI run, 2026-12-01).
 */
const LOSS_SECONDS = scale(10, 30)
/** Messages per second each member sends the other. */
const RATE = 500
/** The bound on noticing a silent cut. */
const DETECT_BOUND_MS = 5_000
/** How long a test waits for a cut to be noticed before failing with what it saw. */
const DETECT_WAIT_MS = 20_000
/** How long a link may take to reopen after the network heals. */
const RECONNECT_BOUND_MS = 15_000
/** How long a cut lasts after both ends noticed it. */
const CUT_HOLD_MS = 500

/**
 * An nft ruleset with one rule on the packets a host receives from the lab
 * network (its loopback, where the API listens, is left alone).
 */
const inputRule = (rule: string): string => `table inet mirnetfault {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "eth0" ${rule}
  }
}
`

interface Member {
  node: FaultNode
  host: NetHost
  consumer: Consumer
  sender: Sender
}

describeNetns.each(transportsOf(QUICK_ALSO))('partitions between two members in their own network namespaces, over %s', (transport: DaemonTransport) => {
  const cuts = quickOn(transport, CUTS, OTHER_TRANSPORT_QUICK_CUTS)
  let scratch: Scratch
  let lab: NetLab | undefined
  afterEach(async () => {
    await stopTraffic()
    await scratch.cleanup()
    await lab?.destroy()
    lab = undefined
  })

  /** Two members, each in its own namespace, sending to each other at RATE. */
  async function twoMembers (): Promise<[Member, Member]> {
    scratch = new Scratch()
    lab = await NetLab.create()
    const hosts = [await lab.addHost(), await lab.addHost()]
    const nodes = await Promise.all(['a', 'b'].map(async (nodeId, i) => await FaultNode.create(scratch, { nodeId, transport, lab: { lab: lab as NetLab, host: hosts[i] } })))
    const membership = await FaultNode.membershipFile(scratch, nodes)
    await Promise.all(nodes.map(async n => await n.start(membership)))
    await Promise.all(nodes.map(async n => await n.client.awaitConnections({ minConnected: 2 }, { timeoutMs: 30_000 })))
    const members = nodes.map((node, i) => ({
      node,
      host: hosts[i],
      consumer: new Consumer(node.client),
      sender: new Sender(node.client, { from: node.nodeId, destinations: [nodes[1 - i].nodeId], ratePerSec: RATE, batch: 50 }).start()
    }))
    return [members[0], members[1]]
  }

  /** Stop the traffic, let it settle, and return the ledgers of both directions. */
  async function finish (a: Member, b: Member): Promise<Ledger[]> {
    await Promise.all([a.sender.stop(), b.sender.stop()])
    trace('senders stopped')
    const flow = (from: Member, to: Member): Flow => ({ sender: from.sender, senderClient: from.node.client, to: to.node.nodeId, consumers: [to.consumer] })
    const ledgers = await settle([flow(a, b), flow(b, a)])
    await Promise.all([a.consumer.stop(), b.consumer.stop()])
    return ledgers
  }

  /** Both links leave `open`: resolves with the detection times of a's link to b and b's link to a. */
  async function detected (a: Member, b: Member): Promise<[number, number]> {
    return await Promise.all([
      waitForPeerState(a.node.client, 'b', s => s !== 'open', DETECT_WAIT_MS),
      waitForPeerState(b.node.client, 'a', s => s !== 'open', DETECT_WAIT_MS)
    ])
  }

  /** Both links open again and traffic flows both ways; resolves with the time the links took. */
  async function recovered (a: Member, b: Member): Promise<number> {
    const times = await Promise.all([
      waitForPeerState(a.node.client, 'b', s => s === 'open', RECONNECT_BOUND_MS),
      waitForPeerState(b.node.client, 'a', s => s === 'open', RECONNECT_BOUND_MS)
    ])
    await Promise.all([
      b.consumer.waitFor('a', b.consumer.count('a') + 1, 10_000),
      a.consumer.waitFor('b', a.consumer.count('b') + 1, 10_000)
    ])
    return Math.max(...times)
  }

  /** Reconnects of a's link to b and of b's link to a. */
  async function reconnects (a: Member, b: Member): Promise<[number, number]> {
    const of = async (m: Member, to: string): Promise<number> => Number((await m.node.client.getStatus({}, { timeoutMs: 10_000 })).peers.find(p => p.nodeId === to)?.reconnects)
    return [await of(a, 'b'), await of(b, 'a')]
  }

  /**
   * Both daemons lived throughout: exactly once and in order per sender and
   * lane, sent = delivered + dropped and nothing lost in flight.
   */
  function expectSound (ledgers: Ledger[], a: Member, b: Member): void {
    for (const l of ledgers) expect(l).toEqual(balancedLedger(l))
    expect(totals(ledgers).lostInFlight).toBe(0)
    for (const c of [a.consumer, b.consumer]) {
      expect({ duplicates: c.duplicates, reorders: c.reorders, violations: c.orderViolations }).toEqual({ duplicates: 0, reorders: 0, violations: [] })
    }
    expect(a.sender.failedSends + b.sender.failedSends).toBe(0)
  }

  /** What the consumers saw besides the counts: duplicates and reorders (both must be 0). */
  function order (a: Member, b: Member): { duplicates: number, reorders: number } {
    return { duplicates: a.consumer.duplicates + b.consumer.duplicates, reorders: a.consumer.reorders + b.consumer.reorders }
  }

  itOn(transport, QUICK_ALSO)(`${cuts} cuts (cut, wait, heal) under traffic: each noticed within 5 s, links reopen after healing, and the accounting holds`, async () => {
    const [a, b] = await twoMembers()
    const detectMs: number[] = []
    const reconnectMs: number[] = []
    for (let i = 0; i < cuts; i++) {
      await (lab as NetLab).cut(b.host)
      detectMs.push(Math.max(...await detected(a, b)))
      await sleep(CUT_HOLD_MS)
      await (lab as NetLab).heal(b.host)
      reconnectMs.push(await recovered(a, b))
    }
    const ledgers = await finish(a, b)
    report(`2 partitions: cut and heal (${transport})`, {
      cuts,
      detectMs: { max: round(Math.max(...detectMs)), median: round(median(detectMs)) },
      reconnectAfterHealMs: { max: round(Math.max(...reconnectMs)), median: round(median(reconnectMs)) },
      accounting: totals(ledgers),
      order: order(a, b)
    })
    expect(Math.max(...detectMs)).toBeLessThanOrEqual(DETECT_BOUND_MS)
    expectSound(ledgers, a, b)
  }, scale(180_000, 1_800_000))

  itOn(transport)(`${ONE_WAY_CUTS} one-way partition(s) each way (nft drops one direction): noticed within 5 s, links reopen when lifted, and the accounting holds`, async () => {
    const [a, b] = await twoMembers()
    const dataDroppedMs: number[] = []
    const acksDroppedMs: number[] = []
    const reconnectMs: number[] = []
    for (let i = 0; i < ONE_WAY_CUTS; i++) {
      for (const [from, to] of [[a, b], [b, a]]) {
        // `to` stops hearing `from`; `from` still hears `to`
        await (lab as NetLab).nft(to.host, inputRule(`ip saddr ${from.host.ip} drop`))
        const [aToB, bToA] = await detected(a, b)
        // the link whose data is dropped, and the one whose acks are
        ;(from === a ? dataDroppedMs : acksDroppedMs).push(aToB)
        ;(from === a ? acksDroppedMs : dataDroppedMs).push(bToA)
        await sleep(CUT_HOLD_MS)
        await (lab as NetLab).nftFlush(to.host)
        reconnectMs.push(await recovered(a, b))
      }
    }
    const ledgers = await finish(a, b)
    report(`2 partitions: one-way (${transport})`, {
      partitions: 2 * ONE_WAY_CUTS,
      detectMsLinkWhoseDataIsDropped: { max: round(Math.max(...dataDroppedMs)), median: round(median(dataDroppedMs)) },
      detectMsLinkWhoseAcksAreDropped: { max: round(Math.max(...acksDroppedMs)), median: round(median(acksDroppedMs)) },
      reconnectAfterHealMs: { max: round(Math.max(...reconnectMs)), median: round(median(reconnectMs)) },
      accounting: totals(ledgers),
      order: order(a, b)
    })
    expect(Math.max(...dataDroppedMs, ...acksDroppedMs)).toBeLessThanOrEqual(DETECT_BOUND_MS)
    expectSound(ledgers, a, b)
  }, scale(120_000, 600_000))

  itOn(transport)(`30% packet loss both ways for ${LOSS_SECONDS} s: traffic keeps flowing, and the accounting holds`, async () => {
    const [a, b] = await twoMembers()
    const reconnectsBefore = await reconnects(a, b)
    trace('loss: members up')
    const loss = inputRule('numgen random mod 100 < 30 drop')
    await Promise.all([(lab as NetLab).nft(a.host, loss), (lab as NetLab).nft(b.host, loss)])
    const before = [b.consumer.count('a'), a.consumer.count('b')]
    const lossStarted = performance.now()
    await sleep(LOSS_SECONDS * 1000)
    const during = [b.consumer.count('a') - before[0], a.consumer.count('b') - before[1]]
    const lossSeconds = (performance.now() - lossStarted) / 1000
    trace('loss: lifting')
    await Promise.all([(lab as NetLab).nftFlush(a.host), (lab as NetLab).nftFlush(b.host)])
    await recovered(a, b)
    const reconnectsAfter = await reconnects(a, b)
    trace('loss: recovered')
    const ledgers = await finish(a, b)
    trace('loss: settled')
    report(`2 partitions: 30% loss (${transport})`, {
      seconds: LOSS_SECONDS,
      deliveredPerSecDuringLoss: { aToB: round(during[0] / lossSeconds), bToA: round(during[1] / lossSeconds), sent: RATE },
      reconnectsDuringLoss: { aToB: reconnectsAfter[0] - reconnectsBefore[0], bToA: reconnectsAfter[1] - reconnectsBefore[1] },
      accounting: totals(ledgers),
      order: order(a, b)
    })
    // under loss TCP slows down but the members keep talking
    expect(during[0]).toBeGreaterThan(0)
    expect(during[1]).toBeGreaterThan(0)
    expectSound(ledgers, a, b)
  }, scale(120_000, 600_000))
})
