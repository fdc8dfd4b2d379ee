/**
 * latency: one-way latency from Send issued to Receive delivered, through
 * sender client -> daemon A -> libp2p -> daemon B -> receiver client: four
 * processes. The sender stamps each payload with CLOCK_MONOTONIC (one clock
 * for every process on the host) when it issues the Send call; the receiver
 * subtracts the stamp on arrival.
 *
 * The maximum rate is the sustained delivered rate: a SendStream windowed by
 * the receiver's delivered count (relayed by the runner, as in api-e2e), over
 * a few seconds after a warm-up. Latency is then measured at 1k msg/s and at
 * half that maximum, paced by a 1 ms timer that writes what is due as one
 * request on a SendStream, stamped at the tick. Unary Send calls (one HTTP/2
 * stream each through connect's client) cost 3x the median at 1k msg/s and
 * queue at high rates: the sender's worker takes `mode: 'unary'` to compare.
 *
 * Systems: `mirnet` (daemons over libp2p), `mirnet-tls` (a second pair of
 * daemons over the TLS transport) and the baseline `direct-grpc`: the same
 * sender streaming straight to a SendStream server in the receiving client's
 * process (what a team without mirnet would write; no daemon). Each is
 * measured at its own maximum, one after the other.
 */
import { availableParallelism } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectAll, cpuSeconds } from '../lib/daemons.ts'
import { ProcessGroup } from '../lib/api-workers.ts'
import { median, round } from '../lib/stats.ts'
import type { Worker } from '../lib/api-workers.ts'
import type { BenchResult, Scenario, ScenarioContext } from '../lib/types.ts'

const PAYLOAD_BYTES = 256
const LOW_RATE = 1000
const MAX_PROBE_BATCH = 64
const MAX_PROBE_WINDOW = 2048
/** A's send queue: above the window, so that nothing is dropped while probing. */
const QUEUE_CAPACITY = 4096
const PACE_TICK_MS = 1
const DRAIN_TIMEOUT_MS = 15_000

interface Counts { total: number, t: number }
interface Latency { n: number, p50: number, p99: number, max: number }
interface Paced { sent: number, requests: number, dropped: number, lateTicks: number }

/** Sustained delivered msg/s over `seconds` after a warm-up, the sender windowed by the receiver's count. */
async function maxRate (api: string, sender: Worker, receiver: Worker, seconds: number, warmupMs: number): Promise<number> {
  const before = await receiver.call<Counts>('counts')
  await sender.call('send', { api, destinations: ['b'], payloadBytes: PAYLOAD_BYTES, batch: MAX_PROBE_BATCH, window: MAX_PROBE_WINDOW, stamp: true })
  await sleep(warmupMs)
  const c0 = await receiver.call<Counts>('counts')
  await sleep(seconds * 1000)
  const c1 = await receiver.call<Counts>('counts')
  const s = await sender.call<{ sent: number, dropped: number }>('stopSend')
  await drained(receiver, before.total + s.sent - s.dropped)
  await receiver.call('latency', { reset: true })
  return (c1.total - c0.total) / ((c1.t - c0.t) / 1000)
}

async function drained (receiver: Worker, total: number): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS
  for (;;) {
    const c = await receiver.call<Counts>('counts')
    if (c.total >= total) return
    if (Date.now() > deadline) throw new Error(`latency: ${total - c.total} messages not delivered after ${DRAIN_TIMEOUT_MS} ms`)
    await sleep(20)
  }
}

/** CPU seconds used so far by each of `pids`, summed. */
async function cpuOf (pids: number[]): Promise<number> {
  return (await Promise.all(pids.map(cpuSeconds))).reduce((sum, c) => sum + c, 0)
}

/**
 * Paced messages for `seconds`; latency figures of what arrived, the rate
 * achieved, and how busy the machine's cores were with the four processes
 * meanwhile (`busy`, 1 = every core all the time).
 */
async function pacedRound (api: string, sender: Worker, receiver: Worker, pids: number[], rate: number, seconds: number): Promise<Latency & Paced & { achieved: number, busy: number }> {
  const before = await receiver.call<Counts>('counts')
  await receiver.call('latency', { reset: true })
  // paced sends need no credit: no delivered reports through the runner meanwhile
  await receiver.call('credit', { on: false })
  const cpu0 = await cpuOf(pids)
  const t0 = performance.now()
  const s = await sender.call<Paced>('paced', { api, destinations: ['b'], payloadBytes: PAYLOAD_BYTES, rate, seconds, mode: 'stream', tickMs: PACE_TICK_MS })
  const busy = (await cpuOf(pids) - cpu0) / ((performance.now() - t0) / 1000) / availableParallelism()
  await drained(receiver, before.total + s.sent - s.dropped)
  await receiver.call('credit', { on: true })
  const lat = await receiver.call<Latency>('latency', { reset: true })
  return { ...lat, ...s, achieved: s.sent / seconds, busy }
}

type Round = Latency & Paced & { achieved: number, busy: number }

/** The systems measured: where the sender's SendStream goes, and what is between it and the receiver. */
interface Target { system: 'mirnet' | 'mirnet-tls' | 'direct-grpc', api: string, path: string }

async function run (ctx: ScenarioContext): Promise<BenchResult[]> {
  // quick: a short round of each kind per system, enough to show each runs end to end and yields its figures
  const rounds = ctx.quick ? 1 : 3
  const seconds = ctx.quick ? 0.4 : 4
  return await ProcessGroup.with(async group => {
    ctx.progress('starting daemons a, b (libp2p), a, b (TLS), a sender and a receiver process')
    const queue = ['--queue-capacity', String(QUEUE_CAPACITY)]
    const [a, b, aTls, bTls, sender, receiver] = await Promise.all([
      group.daemon('a', { args: queue }),
      group.daemon('b'),
      group.daemon('a', { args: [...queue, '--transport', 'tls'] }),
      group.daemon('b', { args: ['--transport', 'tls'] }),
      group.worker('latency-sender'),
      group.worker('latency-receiver')
    ])
    await Promise.all([connectAll([a, b]), connectAll([aTls, bTls])])
    receiver.onDelivered = total => { sender.send({ t: 'credit', delivered: total }) }
    await receiver.call('receive', { apis: [b.api, bTls.api], latency: true })
    const direct = (await receiver.call<{ api: string }>('serveDirect')).api
    const targets: Target[] = [
      { system: 'mirnet', api: a.api, path: 'Send issued (SendStream request) -> A -> libp2p -> B -> Receive delivered' },
      { system: 'mirnet-tls', api: aTls.api, path: 'Send issued (SendStream request) -> A -> TLS -> B -> Receive delivered' },
      { system: 'direct-grpc', api: direct, path: 'SendStream request issued -> read by a connect-node server in the receiving process, no daemon' }
    ]
    const pids = [a, b, aTls, bTls, sender, receiver].map(p => p.child.pid as number)
    const results: BenchResult[] = []
    const p99AtLow = new Map<string, number>()
    for (const t of targets) {
      // warm-up (JIT, windows), then the sustained maximum
      await maxRate(t.api, sender, receiver, ctx.quick ? 0.1 : 1, ctx.quick ? 100 : 300)
      const maxSeconds = ctx.quick ? 0.25 : 3
      const max = await maxRate(t.api, sender, receiver, maxSeconds, ctx.quick ? 200 : 1000)
      const half = Math.round(max / 2)
      ctx.progress(`${t.system}: sustained max ${Math.round(max)} msg/s over ${maxSeconds} s; pacing at ${LOW_RATE} and ${half} msg/s`)
      const rates = [LOW_RATE, half]
      const out = new Map<number, Round[]>(rates.map(r => [r, []]))
      for (let r = 0; r < rounds; r++) {
        for (const rate of rates) {
          const res = await pacedRound(t.api, sender, receiver, pids, rate, seconds)
          out.get(rate)?.push(res)
          ctx.progress(`${t.system} round ${r + 1}/${rounds} at ${rate} msg/s: p50 ${res.p50.toFixed(3)} ms, p99 ${res.p99.toFixed(3)} ms, max ${res.max.toFixed(1)} ms (${res.n} messages in ${res.requests} Sends, ${res.lateTicks} late ticks); cores ${(100 * res.busy).toFixed(0)}% busy`)
        }
      }
      for (const rate of rates) {
        const rs = out.get(rate) ?? []
        const p99 = median(rs.map(x => x.p99))
        if (rate === LOW_RATE) p99AtLow.set(t.system, p99)
        results.push({
          scenario: 'latency' as const,
          system: t.system,
          payloadBytes: PAYLOAD_BYTES,
          msgsPerSec: round(median(rs.map(x => x.achieved)), 0),
          p50Ms: round(median(rs.map(x => x.p50))),
          p99Ms: round(p99),
          seconds,
          note: `${rate === LOW_RATE ? `${LOW_RATE} msg/s` : `half of sustained max ${Math.round(max)} msg/s`}; one-way ${t.path}, sender and receiver in separate processes, ${PACE_TICK_MS} ms pacing tick; median of ${rounds} rounds of ${rs.map(x => x.n).join('/')} msgs in ${rs.map(x => x.requests).join('/')} Sends; p99 ${rs.map(x => x.p99.toFixed(2)).join('/')} ms; max ${round(Math.max(...rs.map(x => x.max)), 1)} ms; cores ${rs.map(x => (100 * x.busy).toFixed(0)).join('/')}% busy with the 6 processes`
        })
      }
    }
    // the daemons' p99 at 1k msg/s against the direct stream's, measured last
    const direct99 = p99AtLow.get('direct-grpc')
    if (direct99 !== undefined) {
      for (const r of results) {
        if (r.system !== 'direct-grpc' && r.msgsPerSec !== undefined && r.note?.startsWith(`${LOW_RATE} msg/s`) === true) {
          r.note += `; p99 ${round((r.p99Ms ?? 0) / direct99, 2)}x direct-grpc's`
        }
      }
    }
    await receiver.call('stopReceive')
    return results
  })
}

export const scenario: Scenario = {
  name: 'latency',
  description: `one-way latency sender -> A -> libp2p or TLS -> B -> receiver, and sender -> receiver over a direct gRPC stream, ${PAYLOAD_BYTES} B, at ${LOW_RATE} msg/s and half the sustained max rate: p50/p99`,
  run
}
