/**
 * Scenario `wan`: link throughput over a long link. One core module A -> B
 * over libp2p, two processes (the `link` workers), 64-KiB messages on the
 * default lane, each side reached through a {@link DelayProxy} on 127.0.0.1
 * adding half the round trip each way (no bandwidth limit), at 0 (the
 * proxies alone, the reference), 50 and 100 ms RTT.
 *
 * - `mirnet-window-default`: the default in-flight window per lane.
 * - `mirnet-window-unbounded`: a window of 256 MiB and 10^6 messages, the
 *   baseline without a window (what is left is yamux's and TCP's own).
 *
 * A window of W bytes carries at most W / RTT: sizing it is bandwidth × RTT.
 * Rounds alternate between the two pairs at each RTT.
 */
import { median, round } from '../lib/stats.ts'
import { LinkPair } from '../lib/link-pair.ts'
import type { NetworkModuleInit } from '../../src/index.ts'
import type { RoundResult } from '../lib/link-pair.ts'
import type { BenchResult, Scenario, ScenarioContext } from '../lib/types.ts'

const PAYLOAD_BYTES = 64 * 1024
const RTTS_MS = [0, 50, 100] as const
const QUICK_QUEUES: NetworkModuleInit = { maxFrameBytes: 1024 * 1024, queueMaxBytes: 4 * 1024 * 1024 }
const UNBOUNDED: NetworkModuleInit = { windowBytes: 256 * 1024 * 1024, windowMessages: 1_000_000 }

type System = 'mirnet-window-default' | 'mirnet-window-unbounded'
const SYSTEMS: Record<System, NetworkModuleInit> = {
  'mirnet-window-default': {},
  'mirnet-window-unbounded': UNBOUNDED
}

function describeRound (r: RoundResult): string {
  return `${r.mbPerSec.toFixed(1)} MB/s (${Math.round(r.msgsPerSec).toLocaleString('en-US')} msg/s) in ${r.seconds.toFixed(2)} s, dropped ${r.droppedMessages}`
}

async function run (ctx: ScenarioContext): Promise<BenchResult[]> {
  // quick: a smoke check, no warm-up, and queues of 4 MiB, not 32 MiB, so that draining them takes no time
  const plan = ctx.quick ? { rounds: 1, seconds: 0.3, warmup: 0 } : { rounds: 3, seconds: 5, warmup: 1 }
  const queues: NetworkModuleInit = ctx.quick ? QUICK_QUEUES : {}
  const names = Object.keys(SYSTEMS) as System[]
  const pairs = new Map<System, LinkPair>()
  try {
    const started = await Promise.allSettled(names.map(async name => {
      pairs.set(name, await LinkPair.start('mirnet', { init: { ...queues, ...SYSTEMS[name] }, delayMs: 0 }))
    }))
    const failed = started.find(r => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    ctx.progress(`${pairs.size} sender/receiver pairs connected through delay proxies; ${plan.rounds} rounds × ${plan.seconds} s per window and RTT`)
    const results: BenchResult[] = []
    for (const rttMs of RTTS_MS) {
      const byName = new Map<System, RoundResult[]>(names.map(n => [n, []]))
      for (const pair of pairs.values()) {
        pair.setDelay(rttMs / 2)
        if (plan.warmup > 0) await pair.round(PAYLOAD_BYTES, plan.warmup)
      }
      for (let i = 0; i < plan.rounds; i++) {
        for (const name of names) {
          const pair = pairs.get(name) as LinkPair
          const before = pair.proxyStats()
          const result = await pair.round(PAYLOAD_BYTES, plan.seconds)
          const after = pair.proxyStats()
          // the link must have gone through the proxies: libp2p reuses any open connection to the peer
          const proxied = (after.bytesToTarget - before.bytesToTarget) + (after.bytesFromTarget - before.bytesFromTarget)
          if (proxied < result.deliveredBytes) throw new Error(`wan: ${proxied} bytes went through the delay proxies, ${result.deliveredBytes} were delivered: the link bypassed them`)
          if (after.connections !== 1 || after.errors !== 0) throw new Error(`wan: the delay proxies saw ${after.connections} connections and ${after.errors} errors; one connection, no error expected`)
          byName.get(name)?.push(result)
          ctx.progress(`RTT ${rttMs} ms round ${i + 1}/${plan.rounds} ${name}: ${describeRound(result)}`)
        }
      }
      const unbounded = median((byName.get('mirnet-window-unbounded') ?? []).map(r => r.mbPerSec))
      for (const name of names) {
        const rs = byName.get(name) ?? []
        const mbPerSec = median(rs.map(r => r.mbPerSec))
        const notes = [`median of ${rs.length} rounds${ctx.quick ? ', queues of 4 MiB (quick)' : ''}`, 'through a delay proxy in front of each side']
        if (name === 'mirnet-window-default') notes.push(`${(mbPerSec / unbounded).toFixed(2)}× window-unbounded`)
        else notes.push(`windowBytes ${UNBOUNDED.windowBytes}, windowMessages ${UNBOUNDED.windowMessages}`)
        notes.push(`dropped ${rs.reduce((n, r) => n + r.droppedMessages, 0)}`)
        results.push({
          scenario: 'wan',
          system: name,
          payloadBytes: PAYLOAD_BYTES,
          rttMs,
          msgsPerSec: round(median(rs.map(r => r.msgsPerSec)), 0),
          mbPerSec,
          seconds: median(rs.map(r => r.seconds)),
          note: notes.join('; ')
        })
      }
    }
    await Promise.all([...pairs.values()].map(async p => { await p.close() }))
    pairs.clear()
    return results
  } finally {
    // on failure: nothing may outlive the scenario
    await Promise.allSettled([...pairs.values()].map(async p => { await p.kill() }))
  }
}

export const scenario: Scenario = {
  name: 'wan',
  description: `core A -> B over libp2p through delay proxies (RTT ${RTTS_MS.join(', ')} ms), ${PAYLOAD_BYTES / 1024} KiB on one lane, the default window vs an unbounded one: MB/s`,
  run
}
