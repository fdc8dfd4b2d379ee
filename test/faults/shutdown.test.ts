import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from '@jest/globals'
import { createMirnetClient } from '../../src/client/client.ts'
import { Scratch, firstLine, freePort, stop } from '../helpers/processes.ts'
import { balancedLedger, settle, totals } from './accounting.ts'
import { FaultNode } from './fault-node.ts'
import { processesTagged, round } from './proc.ts'
import { report, scale } from './scale.ts'
import { waitForPeerState } from './status-wait.ts'
import { Consumer, Sender, stopTraffic } from './traffic.ts'
import type { Ready } from '../helpers/processes.ts'

const TAG = 'MIRNET_FAULT_TAG'
/** How long a daemon under load may take from SIGTERM to exit. */
const SHUTDOWN_BOUND_MS = 5_000
/** Messages per second each sender sends the daemon being stopped. */
const RATE = scale(5_000, 10_000)
const STREAMS = 3

describe('graceful shutdown under load', () => {
  let scratch: Scratch
  afterEach(async () => {
    await stopTraffic()
    await scratch.cleanup()
  })

  it(`SIGTERM ends ${STREAMS} Receive streams cleanly, exits 0 within ${SHUTDOWN_BOUND_MS / 1000} s and leaves no process behind; the others carry on`, async () => {
    scratch = new Scratch()
    const tag = randomBytes(6).toString('hex')
    const r = await FaultNode.create(scratch, { nodeId: 'r', env: { [TAG]: tag } })
    const others = await Promise.all(['s1', 's2'].map(async nodeId => await FaultNode.create(scratch, { nodeId })))
    const all = [r, ...others]
    const membership = await FaultNode.membershipFile(scratch, all)
    await Promise.all(all.map(async n => await n.start(membership)))
    await Promise.all(all.map(async n => await n.client.awaitConnections({ minConnected: all.length }, { timeoutMs: 30_000 })))

    const streams = Array.from({ length: STREAMS }, () => new Consumer(r.client, { maxBatch: 64 }))
    const atS1 = new Consumer(others[0].client)
    const senders = [
      ...others.map(n => new Sender(n.client, { from: n.nodeId, destinations: ['r'], ratePerSec: RATE, batch: 200 }).start()),
      new Sender(r.client, { from: 'r', destinations: ['s1'], ratePerSec: 1000, batch: 100 }).start(),
      new Sender(others[1].client, { from: 's2', destinations: ['s1'], ratePerSec: 1000, batch: 100 }).start()
    ]
    // under load: every stream is busy (the streams share what arrives)
    await Promise.all(streams.map(async s => await s.waitFor('s1', 2000, 20_000)))
    expect(processesTagged(TAG, tag)).toEqual([r.pid])

    await senders[2].stop() // r's own client goes with it
    const signalled = performance.now()
    const code = await r.stop('SIGTERM')
    const exitMs = performance.now() - signalled
    await Promise.all(streams.map(async s => await s.ended()))
    const left = processesTagged(TAG, tag)

    // the others notice, keep running and keep talking to each other
    await Promise.all(others.map(async n => await waitForPeerState(n.client, 'r', s => s !== 'open', 10_000)))
    const fromS2 = atS1.count('s2')
    await atS1.waitFor('s2', fromS2 + 1, 10_000)
    await Promise.all(senders.map(async s => await s.stop()))
    const ledgers = await settle([{ sender: senders[3], senderClient: others[1].client, to: 's1', consumers: [atS1] }])

    report('7 graceful shutdown (daemon)', {
      receiveStreams: STREAMS,
      sigtermToExitMs: round(exitMs),
      streamOutcomes: streams.map(s => String(s.outcome)),
      messagesReadBeforeStop: streams.reduce((n, s) => n + s.total, 0),
      processesLeft: left.length,
      accountingBetweenSurvivors: totals(ledgers)
    })
    expect(code).toBe(0)
    expect(exitMs).toBeLessThanOrEqual(SHUTDOWN_BOUND_MS)
    expect(streams.map(s => s.outcome)).toEqual(streams.map(() => 'ended'))
    for (const s of streams) expect(s.orderViolations).toEqual([])
    expect(left).toEqual([])
    expect(others.map(n => n.running)).toEqual([true, true])
    for (const l of ledgers) expect(l).toEqual(balancedLedger(l))
  }, scale(90_000, 180_000))

  it('SIGTERM to `mirnet cluster` under load stops every daemon it started, ends their Receive streams cleanly, and exits 0', async () => {
    scratch = new Scratch()
    const tag = randomBytes(6).toString('hex')
    const basePort = await freePort()
    const cluster = scratch.spawn(['cluster', '--nodes', '3', '--base-port', String(basePort), '--work-dir', await scratch.dir()], { [TAG]: tag })
    const ready = await firstLine<{ event: string, nodes: Ready[] }>(cluster, 60_000)
    const clients = ready.nodes.map(n => createMirnetClient(n.api))
    const ids = ready.nodes.map(n => n.nodeId)
    const streams = clients.map(c => new Consumer(c, { maxBatch: 64 }))
    const senders = clients.map((c, i) => new Sender(c, { from: ids[i], destinations: ids.filter((_, j) => j !== i), ratePerSec: RATE / 2, batch: 200 }).start())
    await Promise.all(streams.map(async (s, i) => await s.waitFor(ids[(i + 1) % ids.length], 2000, 20_000)))
    // the cluster and its three daemons
    expect(processesTagged(TAG, tag)).toHaveLength(4)

    const signalled = performance.now()
    const code = await stop(cluster, 'SIGTERM')
    const exitMs = performance.now() - signalled
    await Promise.all(streams.map(async s => await s.ended()))
    const left = processesTagged(TAG, tag)
    await Promise.all(senders.map(async s => await s.stop()))

    report('7 graceful shutdown (cluster)', {
      daemons: ids.length,
      sigtermToExitMs: round(exitMs),
      streamOutcomes: streams.map(s => String(s.outcome)),
      processesLeft: left.length
    })
    expect(code).toBe(0)
    expect(exitMs).toBeLessThanOrEqual(SHUTDOWN_BOUND_MS)
    expect(streams.map(s => s.outcome)).toEqual(streams.map(() => 'ended'))
    expect(left).toEqual([])
  }, scale(90_000, 180_000))
})
