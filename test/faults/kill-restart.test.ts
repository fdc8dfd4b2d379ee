import { afterEach, describe, expect } from '@jest/globals'
import { Scratch } from '../helpers/processes.ts'
import { balancedLedger, balancedLedgerAcrossKills, settle, totals } from './accounting.ts'
import { FaultNode } from './fault-node.ts'
import { MiB, median, round, rssBytes } from './proc.ts'
import { report, scale } from './scale.ts'
import { Consumer, Sender, stopTraffic } from './traffic.ts'
import { waitForPeer, waitForPeerState } from './status-wait.ts'
import { transportsOf, itOn, quickOn } from './transports.ts'
import type { Flow } from './accounting.ts'
import type { DaemonTransport } from '../../src/daemon/daemon.ts'

/** The transports besides libp2p the representative case runs on under npm test (the quick form; see transports.ts). */
const QUICK_ALSO: DaemonTransport[] = ['tls']

const CYCLES = scale(4, 100)
/** Cycles on TLS in the quick form, to keep npm test short (all CYCLES on every transport under --full). */
const OTHER_TRANSPORT_QUICK_CYCLES = 1
/** Messages per second each daemon sends to each other member. */
const RATE = 500
/** Messages from `a` each life of the restarted daemon reads after the burst queued while it was down (0.2 s of traffic). */
const LIFE_MESSAGES = 100
/**
 * The survivors run with a capped V8 heap: a leak then ends in an
 * out-of-memory crash the test sees, while garbage V8 has not collected yet
 * does not inflate their RSS (uncapped, V8 grows its heap lazily and RSS alone
 * cannot tell garbage from a leak).
 */
const SURVIVOR_ENV = { NODE_OPTIONS: '--max-old-space-size=96' }
/** How much the survivors' RSS may grow from the end of the first cycle to the end of the run. */
const RSS_GROWTH_BOUND = 64 * MiB

describe.each(transportsOf(QUICK_ALSO))('kill -9 and restart, over %s', (transport: DaemonTransport) => {
  const cycles = quickOn(transport, CYCLES, OTHER_TRANSPORT_QUICK_CYCLES)
  let scratch: Scratch
  afterEach(async () => {
    await stopTraffic()
    await scratch.cleanup()
  })

  itOn(transport, QUICK_ALSO)(`a daemon killed and restarted with the same key ${cycles} times under traffic: the others stay up and bounded, traffic to it resumes within 1 s of its ready line`, async () => {
    scratch = new Scratch()
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(async nodeId => await FaultNode.create(scratch, { nodeId, transport, env: nodeId === 'c' ? {} : SURVIVOR_ENV })))
    const membership = await FaultNode.membershipFile(scratch, [a, b, c])
    await Promise.all([a, b, c].map(async n => await n.start(membership)))
    await Promise.all([a, b, c].map(async n => await n.client.awaitConnections({ minConnected: 3 }, { timeoutMs: 30_000 })))

    const consumers = { a: [new Consumer(a.client)], b: [new Consumer(b.client)], c: [new Consumer(c.client)] }
    const senders = {
      a: new Sender(a.client, { from: 'a', destinations: ['b', 'c'], ratePerSec: RATE, batch: 50 }).start(),
      b: new Sender(b.client, { from: 'b', destinations: ['a', 'c'], ratePerSec: RATE, batch: 50 }).start(),
      c: new Sender(c.client, { from: 'c', destinations: ['a', 'b'], ratePerSec: RATE, batch: 50 }).start()
    }
    await consumers.c[0].waitFor('a', 1, 10_000)

    const resumeMs: number[] = []
    const detectMs: number[] = []
    const restartMs: number[] = []
    const rss: Record<'a' | 'b', number[]> = { a: [], b: [] }
    for (let cycle = 0; cycle < cycles; cycle++) {
      const aFromB = consumers.a[0].count('b')
      const bFromA = consumers.b[0].count('a')

      senders.c.setClient(undefined)
      const killedAt = performance.now()
      expect(await c.stop('SIGKILL')).toBe(null)
      await Promise.all([a, b].map(async n => await waitForPeerState(n.client, 'c', s => s !== 'open', 10_000)))
      detectMs.push(performance.now() - killedAt)

      const spawnedAt = performance.now()
      await c.start(membership)
      const readyAt = performance.now()
      restartMs.push(readyAt - spawnedAt)
      const consumer = new Consumer(c.client)
      consumers.c.push(consumer)
      senders.c.setClient(c.client)
      await Promise.all([consumer.waitFor('a', 1, 10_000), consumer.waitFor('b', 1, 10_000)])
      resumeMs.push(Math.max(consumer.firstAt.get('a') as number, consumer.firstAt.get('b') as number) - readyAt)
      // a life under steady traffic, not only the burst queued while it was down:
      // the burst is acknowledged, then more arrives
      await waitForPeer(a.client, 'c', p => p.queuedMessages === 0n && p.unconfirmedMessages === 0n, 10_000, p => `${p.queuedMessages} queued, ${p.unconfirmedMessages} unconfirmed`)
      await consumer.waitFor('a', consumer.count('a') + LIFE_MESSAGES, 10_000)

      // the survivors kept running and kept delivering to each other
      expect([a.running, b.running]).toEqual([true, true])
      await Promise.all([consumers.a[0].waitFor('b', aFromB + 1, 10_000), consumers.b[0].waitFor('a', bFromA + 1, 10_000)])
      rss.a.push(rssBytes(a.pid))
      rss.b.push(rssBytes(b.pid))
    }

    await Promise.all(Object.values(senders).map(async s => await s.stop()))
    const flow = (from: 'a' | 'b', to: 'a' | 'b' | 'c'): Flow => ({ sender: senders[from], senderClient: (from === 'a' ? a : b).client, to, consumers: consumers[to] })
    const survivors = await settle([flow('a', 'b'), flow('b', 'a')])
    // a killed life's books die with it: what it had acknowledged but not handed to
    // the consumer is gone, and what it had read but not yet acknowledged counts as lost
    const toRestarted = await settle([flow('a', 'c'), flow('b', 'c')], 30_000, balancedLedgerAcrossKills)

    const survivorsTotals = totals(survivors)
    const toRestartedTotals = totals(toRestarted)
    report(`1 kill -9 and restart (${transport})`, {
      cycles,
      resumeAfterReadyMs: { max: round(Math.max(...resumeMs)), median: round(median(resumeMs)) },
      killDetectedMs: { max: round(Math.max(...detectMs)), median: round(median(detectMs)) },
      restartToReadyMs: { max: round(Math.max(...restartMs)), median: round(median(restartMs)) },
      survivorRssMiB: Object.fromEntries(Object.entries(rss).map(([n, v]) => [n, {
        afterCycle: [0, 0.25, 0.5, 0.75, 1].map(q => Math.max(1, Math.round(q * v.length))).map(c => `${c}: ${round(v[c - 1] / MiB)}`).join(', '),
        max: round(Math.max(...v) / MiB)
      }])),
      accountingBetweenSurvivors: survivorsTotals,
      accountingToRestarted: { ...toRestartedTotals, acknowledged: toRestarted.reduce((n, l) => n + l.acknowledged, 0) }
    })

    expect(Math.max(...resumeMs)).toBeLessThanOrEqual(1000)
    for (const v of Object.values(rss)) expect(Math.max(...v)).toBeLessThanOrEqual(v[0] + RSS_GROWTH_BOUND)
    expect(senders.a.failedSends + senders.b.failedSends).toBe(0)
    for (const l of survivors) expect(l).toEqual(balancedLedger(l))
    for (const l of toRestarted) expect(l).toEqual(balancedLedgerAcrossKills(l))
    for (const list of Object.values(consumers)) for (const consumer of list) expect(consumer.orderViolations).toEqual([])
    await Promise.all(Object.values(consumers).flat().map(async consumer => await consumer.stop()))
    for (const n of [a, b, c]) expect(await n.stop()).toBe(0)
  }, scale(180_000, 1_800_000))
})
