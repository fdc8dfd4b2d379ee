/**
 * latency: one-way latency from Send issued to Receive delivered, through
 * client -> daemon A -> libp2p -> daemon B -> client. One client process
 * holds both ends (one clock): a SendStream to A that sends what is due every
 * timer tick, each payload stamped with the wall-clock time just before its
 * request is written, and a Receive stream on B that subtracts the stamp on
 * arrival. Measured at 1k msg/s and at half the maximum rate, which is
 * measured first in the same configuration. No baseline.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { connectAll } from '../lib/daemons.ts'
import { ProcessGroup } from '../lib/api-workers.ts'
import { median, round } from '../lib/stats.ts'
import type { Worker } from '../lib/api-workers.ts'
import type { DaemonProcess } from '../lib/daemons.ts'
import type { BenchResult, Scenario, ScenarioContext } from '../lib/types.ts'

const PAYLOAD_BYTES = 256
const LOW_RATE = 1000
const MAX_PROBE_BATCH = 64
const MAX_PROBE_WINDOW = 2048
const DRAIN_TIMEOUT_MS = 15_000

interface Counts { total: number, t: number }
interface Latency { n: number, p50: number, p99: number, max: number }

/** Delivered msg/s of stamped messages, the sender windowed by its own receiver (same process). */
async function maxRate (a: DaemonProcess, client: Worker, seconds: number): Promise<number> {
  const before = await client.call<Counts>('counts')
  await client.call('send', { api: a.api, destinations: ['b'], payloadBytes: PAYLOAD_BYTES, batch: MAX_PROBE_BATCH, window: MAX_PROBE_WINDOW, localCredit: true, stamp: true })
  await sleep(300)
  const c0 = await client.call<Counts>('counts')
  await sleep(seconds * 1000)
  const c1 = await client.call<Counts>('counts')
  const s = await client.call<{ sent: number, dropped: number }>('stopSend')
  await drained(client, before.total + s.sent - s.dropped)
  await client.call('latency', { reset: true })
  return (c1.total - c0.total) / ((c1.t - c0.t) / 1000)
}

async function drained (client: Worker, total: number): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS
  for (;;) {
    const c = await client.call<Counts>('counts')
    if (c.total >= total) return
    if (Date.now() > deadline) throw new Error(`latency: ${total - c.total} messages not delivered after ${DRAIN_TIMEOUT_MS} ms`)
    await sleep(20)
  }
}

/** Paced messages for `seconds`; latency figures of what arrived, and the rate achieved. */
async function pacedRound (a: DaemonProcess, client: Worker, rate: number, seconds: number): Promise<Latency & { achieved: number }> {
  const before = await client.call<Counts>('counts')
  await client.call('latency', { reset: true })
  const s = await client.call<{ sent: number, dropped: number }>('paced', { api: a.api, destinations: ['b'], payloadBytes: PAYLOAD_BYTES, rate, seconds })
  await drained(client, before.total + s.sent - s.dropped)
  const lat = await client.call<Latency>('latency', { reset: true })
  return { ...lat, achieved: s.sent / seconds }
}

async function run (ctx: ScenarioContext): Promise<BenchResult[]> {
  const rounds = ctx.quick ? 1 : 3
  const seconds = ctx.quick ? 1.5 : 4
  return await ProcessGroup.with(async group => {
    ctx.progress('starting daemons a, b and a client process')
    const [a, b, client] = await Promise.all([group.daemon('a'), group.daemon('b'), group.worker('latency-client')])
    await connectAll([a, b])
    await client.call('receive', { apis: [b.api], latency: true })
    // warm-up, then the maximum delivered rate in this configuration
    await maxRate(a, client, ctx.quick ? 0.3 : 1)
    const max = await maxRate(a, client, ctx.quick ? 0.7 : 2)
    const half = Math.round(max / 2)
    ctx.progress(`max ${Math.round(max)} msg/s; pacing at ${LOW_RATE} and ${half} msg/s`)
    const rates = [LOW_RATE, half]
    const out = new Map<number, Array<Latency & { achieved: number }>>(rates.map(r => [r, []]))
    for (let r = 0; r < rounds; r++) {
      for (const rate of rates) {
        const res = await pacedRound(a, client, rate, seconds)
        out.get(rate)?.push(res)
        ctx.progress(`round ${r + 1}/${rounds} at ${rate} msg/s: p50 ${res.p50.toFixed(3)} ms, p99 ${res.p99.toFixed(3)} ms (${res.n} messages)`)
      }
    }
    await client.call('stopReceive')
    return rates.map(rate => {
      const rs = out.get(rate) ?? []
      return {
        scenario: 'latency' as const,
        system: 'mirnet',
        payloadBytes: PAYLOAD_BYTES,
        msgsPerSec: round(median(rs.map(x => x.achieved)), 0),
        p50Ms: round(median(rs.map(x => x.p50))),
        p99Ms: round(median(rs.map(x => x.p99))),
        seconds,
        note: `${rate === LOW_RATE ? `${LOW_RATE} msg/s` : `half of max ${Math.round(max)} msg/s`}; one-way Send issued -> Receive delivered; median of ${rounds} rounds of ${rs.map(x => x.n).join('/')} msgs; max ${round(Math.max(...rs.map(x => x.max)), 1)} ms`
      }
    })
  })
}

export const scenario: Scenario = {
  name: 'latency',
  description: `one-way latency client -> A -> libp2p -> B -> client, ${PAYLOAD_BYTES} B, at ${LOW_RATE} msg/s and half the max rate: p50/p99`,
  run
}
