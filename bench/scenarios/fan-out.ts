/**
 * fan-out: one sender broadcasting. Five daemons; a client process sends
 * batches on a SendStream to n0, each message with the four other nodes as
 * destinations (one Send, four deliveries); a second client process holds a
 * Receive stream on each of n1..n4. The sender keeps at most a window of
 * deliveries outstanding (the receiver's count, relayed by the runner).
 * Figures: delivered msg/s per destination and in total. No baseline.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { connectAll } from '../lib/daemons.ts'
import { ProcessGroup } from '../lib/api-workers.ts'
import { median, round } from '../lib/stats.ts'
import type { Worker } from '../lib/api-workers.ts'
import type { DaemonProcess } from '../lib/daemons.ts'
import type { BenchResult, Scenario, ScenarioContext } from '../lib/types.ts'

const PAYLOAD_BYTES = 256
const NODES = 5
const BATCH = 64
/** Deliveries (message x destination) outstanding at most. */
const WINDOW = 4 * 2048
/** n0's send queue per destination: above the window, so that the window bounds what is in flight. */
const QUEUE_CAPACITY = 4096
const WARMUP_MS = 300
const DRAIN_TIMEOUT_MS = 15_000

interface Counts { total: number, perStream: number[], t: number }

/** Per-destination delivered rates of one round; waits for the drain after. */
async function fanOutRound (seconds: number, source: DaemonProcess, destinations: string[], sender: Worker, receiver: Worker): Promise<number[]> {
  const before = await receiver.call<Counts>('counts')
  await sender.call('send', { api: source.api, destinations, payloadBytes: PAYLOAD_BYTES, batch: BATCH, window: WINDOW })
  await sleep(WARMUP_MS)
  const c0 = await receiver.call<Counts>('counts')
  await sleep(seconds * 1000)
  const c1 = await receiver.call<Counts>('counts')
  const s = await sender.call<{ sent: number, dropped: number }>('stopSend')
  const expected = s.sent * destinations.length - s.dropped
  const deadline = Date.now() + DRAIN_TIMEOUT_MS
  for (;;) {
    const c = await receiver.call<Counts>('counts')
    if (c.total - before.total >= expected) break
    if (Date.now() > deadline) throw new Error(`fan-out: ${expected - (c.total - before.total)} deliveries missing after ${DRAIN_TIMEOUT_MS} ms`)
    await sleep(20)
  }
  const dt = (c1.t - c0.t) / 1000
  return c1.perStream.map((n, i) => (n - c0.perStream[i]) / dt)
}

async function run (ctx: ScenarioContext): Promise<BenchResult[]> {
  const rounds = ctx.quick ? 1 : 3
  const seconds = ctx.quick ? 0.5 : 3
  return await ProcessGroup.with(async group => {
    ctx.progress(`starting ${NODES} daemons and two client processes`)
    const ids = Array.from({ length: NODES }, (_, i) => `n${i}`)
    const [daemons, sender, receiver] = await Promise.all([
      Promise.all(ids.map(async (id, i) => await group.daemon(id, i === 0 ? { args: ['--queue-capacity', String(QUEUE_CAPACITY)] } : {}))),
      group.worker('sender'),
      group.worker('receiver')
    ])
    await connectAll(daemons)
    const [source, ...sinks] = daemons
    const destinations = sinks.map(d => d.nodeId)
    receiver.onDelivered = total => { sender.send({ t: 'credit', delivered: total }) }
    await receiver.call('receive', { apis: sinks.map(d => d.api), maxBatch: 8192 })
    await fanOutRound(ctx.quick ? 0.2 : 1, source, destinations, sender, receiver) // warm-up
    const perRound: number[][] = []
    for (let r = 0; r < rounds; r++) {
      const rates = await fanOutRound(seconds, source, destinations, sender, receiver)
      perRound.push(rates)
      ctx.progress(`round ${r + 1}/${rounds}: ${rates.map(x => Math.round(x)).join(' / ')} msg/s per destination`)
    }
    await receiver.call('stopReceive')
    const totals = perRound.map(rs => rs.reduce((x, y) => x + y, 0))
    const perDestination = perRound.map(rs => Math.min(...rs))
    const all = perRound.flat()
    return [
      {
        scenario: 'fan-out' as const,
        system: 'mirnet',
        payloadBytes: PAYLOAD_BYTES,
        msgsPerSec: round(median(perDestination), 0),
        mbPerSec: round(median(perDestination) * PAYLOAD_BYTES / 1e6, 1),
        seconds,
        note: `per destination (slowest of ${NODES - 1}; range ${Math.round(Math.min(...all))}-${Math.round(Math.max(...all))}); n0 -> n1..n4, one message with 4 destinations; median of ${rounds}`
      },
      {
        scenario: 'fan-out' as const,
        system: 'mirnet',
        payloadBytes: PAYLOAD_BYTES,
        msgsPerSec: round(median(totals), 0),
        mbPerSec: round(median(totals) * PAYLOAD_BYTES / 1e6, 1),
        seconds,
        note: `total deliveries over ${NODES - 1} destinations; SendStream ${BATCH}/request, window ${WINDOW} deliveries, n0 queue ${QUEUE_CAPACITY}; median of ${rounds}`
      }
    ]
  })
}

export const scenario: Scenario = {
  name: 'fan-out',
  description: `one sender to ${NODES - 1} destinations per message (${NODES} daemons), ${PAYLOAD_BYTES} B: delivered msg/s per destination and total`,
  run
}
