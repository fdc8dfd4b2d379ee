/**
 * api-e2e: the whole path a consensus node sees. A client process sends
 * batches on a SendStream to daemon A, A carries them over libp2p to daemon
 * B, and a Receive stream in a second client process takes them out: four
 * processes. The sender keeps at most a window of messages undelivered (the
 * receiver's count, relayed by the runner), so queues do not overflow and the
 * figure is the delivered rate, measured by the receiver after a warm-up.
 * System `mirnet`: daemons over libp2p; `mirnet-tls`: a second pair of
 * daemons over the TLS transport, same clients. Baselines, in alternating
 * rounds: `link`, the core module alone, A -> B over libp2p in two
 * processes (bench/lib/link-pair.ts); `direct-grpc`, the same sender
 * streaming straight to a SendStream server in the receiving client's
 * process (what a team without mirnet would write; no daemon).
 * Each row also gives the CPU time (user + system, from /proc) each process
 * of its path spent per delivered message over the measured window, and the
 * rate those costs allow on the machine's cores (the CPU-bound ceiling).
 */
import { availableParallelism } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectAll, rssMb } from '../lib/daemons.ts'
import { ProcessGroup } from '../lib/api-workers.ts'
import { LinkPair } from '../lib/link-pair.ts'
import { alternate, median, round } from '../lib/stats.ts'
import { cpuCeilingMsgsPerSec, cpuSnapshot, cpuTotal, cpuUsPerMessage, medianCpu } from '../lib/cpu-time.ts'
import type { Worker } from '../lib/api-workers.ts'
import type { DaemonProcess } from '../lib/daemons.ts'
import type { BenchResult, Scenario, ScenarioContext } from '../lib/types.ts'

interface SizePlan {
  payloadBytes: number
  /** Messages per SendStream request. */
  batch: number
  /** Messages sent but not yet delivered, at most. */
  window: number
}

const PLANS: SizePlan[] = [
  { payloadBytes: 256, batch: 64, window: 2048 },
  { payloadBytes: 64 * 1024, batch: 4, window: 256 }
]
const RECEIVE_BATCH = 8192
/** A's send queue: above the largest window, so that the window, not the queue, bounds what is in flight. */
const QUEUE_CAPACITY = 4096
const DRAIN_TIMEOUT_MS = 15_000

interface Counts { total: number, t: number }

/** The processes of a path by role (`client A`, `daemon A` …) and pid; each round's CPU µs per message by role goes to `rounds`. */
interface CpuAccount { pids: Record<string, number>, rounds: Array<Record<string, number>> }

/** How long each part of a round lasts. */
interface Timing {
  /** Measured seconds of a round. */
  seconds: number
  /** Traffic before a round's measured window (the window fills, the path settles). */
  warmupMs: number
  /** Untimed seconds per path before the first round (JIT). */
  firstSeconds: number
  roundsPerSize: number
}

/** Quick: a short round per path and size, enough to show each runs end to end and yields its figures. */
const QUICK: Timing = { seconds: 0.25, warmupMs: 150, firstSeconds: 0.15, roundsPerSize: 1 }
const FULL: Timing = { seconds: 3, warmupMs: 500, firstSeconds: 1, roundsPerSize: 5 }

/**
 * One mirnet round: send for `seconds` after a warm-up, return the rate the
 * receiver saw, then stop and wait until everything sent (less what A's queue
 * dropped) has arrived, so the next round starts empty.
 */
async function mirnetRound (plan: SizePlan, warmupMs: number, seconds: number, api: string, sender: Worker, receiver: Worker, drops: number[], cpu?: CpuAccount): Promise<number> {
  const before = await receiver.call<Counts>('counts')
  await sender.call('send', { api, destinations: ['b'], payloadBytes: plan.payloadBytes, batch: plan.batch, window: plan.window })
  await sleep(warmupMs)
  const [c0, cpu0] = await Promise.all([receiver.call<Counts>('counts'), cpuSnapshot(cpu?.pids ?? {})])
  await sleep(seconds * 1000)
  const [c1, cpu1] = await Promise.all([receiver.call<Counts>('counts'), cpuSnapshot(cpu?.pids ?? {})])
  cpu?.rounds.push(cpuUsPerMessage(cpu0, cpu1, c1.total - c0.total))
  const sent = await sender.call<{ sent: number, dropped: number }>('stopSend')
  drops.push(sent.dropped)
  const deadline = Date.now() + DRAIN_TIMEOUT_MS
  for (;;) {
    const c = await receiver.call<Counts>('counts')
    if (c.total - before.total >= sent.sent - sent.dropped) break
    if (Date.now() > deadline) throw new Error(`api-e2e: ${sent.sent - sent.dropped - (c.total - before.total)} messages not delivered after ${DRAIN_TIMEOUT_MS} ms`)
    await sleep(20)
  }
  return (c1.total - c0.total) / ((c1.t - c0.t) / 1000)
}

/** 123456 -> `123k`. */
function kilo (n: number): string {
  return n >= 1e4 ? `${Math.round(n / 1e3)}k` : String(Math.round(n))
}

async function run (ctx: ScenarioContext): Promise<BenchResult[]> {
  const timing = ctx.quick ? QUICK : FULL
  // the core link's sender and receiver (the rounds without the API), started with the daemons and kept for every round
  const starting = LinkPair.start('mirnet')
  starting.catch(() => {}) // awaited below; a failed start fails the scenario there
  try {
    return await ProcessGroup.with(async group => await measure(ctx, group, timing, starting))
  } finally {
    await (await starting.catch(() => undefined))?.close()
  }
}

async function measure (ctx: ScenarioContext, group: ProcessGroup, timing: Timing, starting: Promise<LinkPair>): Promise<BenchResult[]> {
  const { seconds, roundsPerSize } = timing
  ctx.progress('starting daemons a, b (libp2p), a, b (TLS), two client processes and a core sender/receiver pair')
  const queue = ['--queue-capacity', String(QUEUE_CAPACITY)]
  const [a, b, aTls, bTls, sender, receiver, core] = await Promise.all([
    group.daemon('a', { args: queue }),
    group.daemon('b'),
    group.daemon('a', { args: [...queue, '--transport', 'tls'] }),
    group.daemon('b', { args: ['--transport', 'tls'] }),
    group.worker('sender'),
    group.worker('receiver'),
    starting
  ])
  await Promise.all([connectAll([a, b]), connectAll([aTls, bTls])])
  receiver.onDelivered = total => { sender.send({ t: 'credit', delivered: total }) }
  await receiver.call('receive', { apis: [b.api, bTls.api], maxBatch: RECEIVE_BATCH })
  const direct = (await receiver.call<{ api: string }>('serveDirect')).api
  const results: BenchResult[] = []
  for (const plan of PLANS) {
    const rounds = roundsPerSize
    const drops = { mirnet: [] as number[], 'mirnet-tls': [] as number[], 'direct-grpc': [] as number[] }
    const pid = (p: { child: { pid?: number } }): number => p.child.pid as number
    const cpu: Record<'mirnet' | 'mirnet-tls' | 'direct-grpc' | 'link', CpuAccount> = {
      mirnet: { pids: { 'client A': pid(sender), 'daemon A': pid(a), 'daemon B': pid(b), 'client B': pid(receiver) }, rounds: [] },
      'mirnet-tls': { pids: { 'client A': pid(sender), 'daemon A': pid(aTls), 'daemon B': pid(bTls), 'client B': pid(receiver) }, rounds: [] },
      'direct-grpc': { pids: { sender: pid(sender), receiver: pid(receiver) }, rounds: [] },
      link: { pids: {}, rounds: [] }
    }
    // untimed: the daemons' and clients' code paths get compiled before the rounds
    for (const api of [a.api, aTls.api, direct]) await mirnetRound(plan, timing.warmupMs, timing.firstSeconds, api, sender, receiver, [])
    await core.round(plan.payloadBytes, timing.firstSeconds)
    const rates = await alternate(rounds, {
      mirnet: async () => await mirnetRound(plan, timing.warmupMs, seconds, a.api, sender, receiver, drops.mirnet, cpu.mirnet),
      'mirnet-tls': async () => await mirnetRound(plan, timing.warmupMs, seconds, aTls.api, sender, receiver, drops['mirnet-tls'], cpu['mirnet-tls']),
      'direct-grpc': async () => await mirnetRound(plan, timing.warmupMs, seconds, direct, sender, receiver, drops['direct-grpc'], cpu['direct-grpc']),
      link: async () => {
        const r = await core.measuredRound(plan.payloadBytes, seconds)
        cpu.link.rounds.push(r.cpuUsPerMsg)
        return r.msgsPerSec
      }
    }, (r, system, value) => { ctx.progress(`${plan.payloadBytes} B round ${r + 1}/${rounds} ${system}: ${Math.round(value)} msg/s`) })
    const rssOf = async (x: DaemonProcess, y: DaemonProcess): Promise<number> => Math.max(await rssMb(x.child.pid as number), await rssMb(y.child.pid as number))
    const rss = { mirnet: await rssOf(a, b), 'mirnet-tls': await rssOf(aTls, bTls) }
    const direct50 = median(rates['direct-grpc'])
    const cores = availableParallelism()
    const cpuOf = (system: keyof typeof cpu): { perProcess: Record<string, number>, total: number, ceiling: number } => {
      const perProcess = medianCpu(cpu[system].rounds)
      const total = cpuTotal(perProcess)
      return { perProcess, total, ceiling: cpuCeilingMsgsPerSec(total, cores) }
    }
    const directCpu = cpuOf('direct-grpc')
    const cpuNote = (system: keyof typeof cpu): string => {
      const c = cpuOf(system)
      const each = Object.entries(c.perProcess).map(([role, us]) => `${role} ${us.toFixed(1)}`).join(', ')
      const vsDirect = system === 'direct-grpc' ? '' : `; direct ${directCpu.total.toFixed(1)}`
      const ceilingVsDirect = system === 'direct-grpc' ? '' : ` = ${round(c.ceiling / directCpu.ceiling, 2)}x direct's`
      return `CPU µs/msg: ${each} (total ${c.total.toFixed(1)}${vsDirect}); CPU-bound ceiling on ${cores} cores ${kilo(c.ceiling)} msg/s${ceilingVsDirect}`
    }
    for (const system of ['mirnet', 'mirnet-tls', 'direct-grpc', 'link'] as const) {
      const msgs = median(rates[system])
      const transport = system === 'mirnet-tls' ? 'TLS' : 'libp2p'
      results.push({
        scenario: 'api-e2e',
        system,
        payloadBytes: plan.payloadBytes,
        msgsPerSec: round(msgs, 0),
        mbPerSec: round(msgs * plan.payloadBytes / 1e6, 1),
        rssMb: system === 'mirnet' || system === 'mirnet-tls' ? round(rss[system], 0) : undefined,
        seconds,
        cpuUsPerMsg: Object.fromEntries(Object.entries(cpuOf(system).perProcess).map(([role, us]) => [role, round(us, 2)])),
        cpuCeilingMsgsPerSec: round(cpuOf(system).ceiling, 0),
        note: `${system === 'mirnet' || system === 'mirnet-tls'
          ? `client -> SendStream (${plan.batch}/request, window ${plan.window}) -> A (queue ${QUEUE_CAPACITY}) -> ${transport} -> B -> Receive -> client; median of ${rounds}; ${round(msgs / median(rates.link), 2)}x link; ${round(msgs / direct50, 2)}x direct-grpc; dropped by A ${drops[system].reduce((x, y) => x + y, 0)}; RSS = larger daemon`
          : system === 'direct-grpc'
            ? `client -> SendStream (${plan.batch}/request, window ${plan.window}) straight to a connect-node server in the receiving client's process (mirnet's API server settings), no daemon; median of ${rounds}`
            : `core module A -> B over libp2p, 2 processes; median of ${rounds}`}; ${cpuNote(system)}`
      })
    }
  }
  await receiver.call('stopReceive')
  return results
}

export const scenario: Scenario = {
  name: 'api-e2e',
  description: 'client -> daemon A (SendStream) -> libp2p or TLS -> daemon B -> Receive -> client, 256 B and 64 KiB: delivered msg/s vs the core link and vs a direct gRPC stream between the two clients',
  run
}
