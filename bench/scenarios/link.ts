/**
 * Scenario `link`: one core module A -> B over libp2p (TCP + Noise + Yamux on
 * 127.0.0.1), over the TLS transport (`mirnet-tls`: TCP + TLS 1.3, no
 * multiplexer) and over the gRPC transport (`mirnet-grpc`: one gRPC call on
 * HTTP/2 + TLS 1.3), sender and receiver in two OS processes, against raw TCP (one
 * `socket.write()` per framed message), raw TCP batched (`raw-tcp-batched`:
 * messages framed into 64 KiB writes, the plain socket's ceiling) and plain
 * js-libp2p (one `stream.send()` per message), for 256-byte and 64-KiB
 * payloads. Rounds alternate between the systems; each sends for a fixed
 * time as fast as the system accepts without loss. See bench/lib/link-pair.ts.
 */
import { alternate, median } from '../lib/stats.ts'
import { LINK_SYSTEMS, LinkPair } from '../lib/link-pair.ts'
import type { LinkSystem, RoundResult } from '../lib/link-pair.ts'
import type { BenchResult, Scenario, ScenarioContext } from '../lib/types.ts'

const SYSTEMS: readonly LinkSystem[] = LINK_SYSTEMS
const PAYLOAD_SIZES = [256, 64 * 1024] as const
/** An unreported round per pair and payload first, so that every system runs JIT-warm. */
const WARMUP_SECONDS = 0.3

interface Plan {
  rounds: number
  seconds: number
  /** Seconds of traffic per pair and payload before the first round. */
  warmupSeconds: number
}

function label (payloadBytes: number): string {
  return payloadBytes >= 1024 ? `${payloadBytes / 1024} KiB` : `${payloadBytes} B`
}

function describeRound (r: RoundResult): string {
  const drops = r.system.startsWith('mirnet') ? `, dropped ${r.droppedMessages}` : ''
  return `${Math.round(r.msgsPerSec).toLocaleString('en-US')} msg/s, ${r.mbPerSec.toFixed(1)} MB/s in ${r.seconds.toFixed(2)} s${drops}`
}

/** Issue 13's targets for the TLS and gRPC links: at 256 B against `raw-tcp-batched`, at 64 KiB against `raw-tcp`; gRPC against TLS. */
const TLS_SMALL_TARGET = 0.5
const TLS_LARGE_TARGET = 0.8
const GRPC_TARGET = 0.5

function verdict (ratio: number, target: number): string {
  return `target ≥ ${target}: ${ratio >= target ? 'met' : 'MISSED'}`
}

interface Medians {
  msgsPerSec: number
  mbPerSec: number
  seconds: number
}

/** Medians per system, with each row's ratio to the baselines (and the targets' verdicts) in the note. */
function summarize (payloadBytes: number, bySystem: Map<LinkSystem, RoundResult[]>): BenchResult[] {
  const medians = new Map<LinkSystem, Medians>()
  for (const [system, rounds] of bySystem) {
    medians.set(system, {
      msgsPerSec: median(rounds.map(r => r.msgsPerSec)),
      mbPerSec: median(rounds.map(r => r.mbPerSec)),
      seconds: median(rounds.map(r => r.seconds))
    })
  }
  // same payload for all: the msg/s ratio is the MB/s ratio
  const ratioTo = (value: number, base: LinkSystem): number => value / (medians.get(base)?.msgsPerSec ?? Number.NaN)
  const note = (value: number, base: LinkSystem, target?: number): string => {
    const r = ratioTo(value, base)
    return `${Number.isNaN(r) ? '?' : r.toFixed(2)}× ${base === 'mirnet' ? 'mirnet (libp2p)' : base}${target === undefined ? '' : ` (${verdict(r, target)})`}`
  }
  return SYSTEMS.map(system => {
    const m = medians.get(system) as Medians
    const rounds = bySystem.get(system) ?? []
    const notes = [`median of ${rounds.length} rounds`]
    const small = payloadBytes < 1024
    if (system === 'raw-tcp-batched' || system === 'libp2p-per-message') notes.push(note(m.msgsPerSec, 'raw-tcp'))
    if (system.startsWith('mirnet')) {
      notes.push(note(m.msgsPerSec, 'raw-tcp', system === 'mirnet-tls' && !small ? TLS_LARGE_TARGET : undefined))
      notes.push(note(m.msgsPerSec, 'raw-tcp-batched', system === 'mirnet-tls' && small ? TLS_SMALL_TARGET : undefined))
      notes.push(note(m.msgsPerSec, system === 'mirnet' ? 'libp2p-per-message' : 'mirnet'))
      if (system === 'mirnet-grpc') notes.push(note(m.msgsPerSec, 'mirnet-tls', GRPC_TARGET))
      notes.push(`dropped ${rounds.reduce((n, r) => n + r.droppedMessages, 0)}`)
    }
    return { scenario: 'link', system, payloadBytes, msgsPerSec: m.msgsPerSec, mbPerSec: m.mbPerSec, seconds: m.seconds, note: notes.join('; ') }
  })
}

async function measure (pairs: Map<LinkSystem, LinkPair>, plan: Plan, ctx: ScenarioContext): Promise<BenchResult[]> {
  const results: BenchResult[] = []
  for (const payloadBytes of PAYLOAD_SIZES) {
    for (const pair of pairs.values()) await pair.round(payloadBytes, plan.warmupSeconds)
    const bySystem = new Map<LinkSystem, RoundResult[]>(SYSTEMS.map(s => [s, []]))
    const systems = Object.fromEntries(SYSTEMS.map(system => [system, async () => {
      const result = await (pairs.get(system) as LinkPair).round(payloadBytes, plan.seconds)
      bySystem.get(system)?.push(result)
      ctx.progress(`${label(payloadBytes)} round ${bySystem.get(system)?.length ?? 0}/${plan.rounds} ${system}: ${describeRound(result)}`)
      return result.msgsPerSec
    }])) as Record<LinkSystem, () => Promise<number>>
    await alternate(plan.rounds, systems)
    results.push(...summarize(payloadBytes, bySystem))
  }
  return results
}

export const scenario: Scenario = {
  name: 'link',
  description: 'core A -> B over libp2p (TCP+Noise+Yamux), over TLS (mirnet-tls) and over gRPC (mirnet-grpc), two processes, 256 B and 64 KiB, vs raw TCP (one write per message, and batched into 64 KiB writes) and libp2p one send() per message',
  run: async (ctx) => {
    // quick: one short round per system and payload, which proves each runs end to end and yields its figures
    const plan: Plan = ctx.quick ? { rounds: 1, seconds: 0.25, warmupSeconds: 0.1 } : { rounds: 5, seconds: 3, warmupSeconds: WARMUP_SECONDS }
    const pairs = new Map<LinkSystem, LinkPair>()
    try {
      const started = await Promise.allSettled(SYSTEMS.map(async s => { pairs.set(s, await LinkPair.start(s)) }))
      const failed = started.find(r => r.status === 'rejected')
      if (failed !== undefined) throw failed.reason
      ctx.progress(`${pairs.size} sender/receiver process pairs connected; ${plan.rounds} rounds × ${plan.seconds} s per system and payload`)
      const results = await measure(pairs, plan, ctx)
      // one pair after another: ten workers stopping at once on 2 busy cores is when a TLS receiver hung (see the report)
      for (const p of pairs.values()) await p.close()
      pairs.clear()
      return results
    } finally {
      // on failure: nothing may outlive the scenario
      await Promise.allSettled([...pairs.values()].map(async p => { await p.kill() }))
    }
  }
}
