/**
 * Scenario `hol` (head-of-line blocking): one link A -> B over libp2p, two
 * processes (the `link` scenario's workers), votes of 256 B paced at
 * 1,000 msg/s, each stamped with its send time, while bulk messages (64 KiB,
 * then 1 MiB) are sent as fast as their queue takes them. The receiver takes
 * each vote's one-way latency (wall clock shared by both processes).
 *
 * - `mirnet`: votes on lane `control` (strict), bulk on lane `bulk`.
 * - `single-lane`: votes and bulk on lane `consensus`: one queue, one
 *   window, the behaviour before lanes.
 * - `mirnet-idle-link`: the same votes alone, the reference for latency.
 *
 * Targets: vote p99 under bulk ≤ 2 × the idle link's; bulk MB/s with lanes
 * ≥ 0.9 × single-lane's; no vote lost. Systems alternate within each round on
 * one connected pair (they differ only in the lanes the messages name).
 */
import { median, round } from '../lib/stats.ts'
import { LinkPair } from '../lib/link-pair.ts'
import type { HolPlan, HolResult } from '../lib/link-pair.ts'
import type { BenchResult, Scenario, ScenarioContext } from '../lib/types.ts'

const VOTE_RATE = 1000
const VOTE_BYTES = 256
const BULK_SIZES = [64 * 1024, 1024 * 1024] as const
const QUICK_INIT = { maxFrameBytes: 1024 * 1024, queueMaxBytes: 4 * 1024 * 1024 }
const P99_TARGET = 2
const BULK_TARGET = 0.9

type System = 'mirnet' | 'single-lane' | 'mirnet-idle-link'

interface Run {
  system: System
  bulkBytes: number
  plan: (seconds: number) => HolPlan
}

const RUNS: Run[] = [
  { system: 'mirnet-idle-link', bulkBytes: 0, plan: seconds => ({ seconds, voteRate: VOTE_RATE, voteLane: 'control', bulkBytes: 0, bulkLane: 'bulk' }) },
  ...BULK_SIZES.flatMap(bulkBytes => [
    { system: 'mirnet' as const, bulkBytes, plan: (seconds: number) => ({ seconds, voteRate: VOTE_RATE, voteLane: 'control', bulkBytes, bulkLane: 'bulk' }) },
    { system: 'single-lane' as const, bulkBytes, plan: (seconds: number) => ({ seconds, voteRate: VOTE_RATE, voteLane: 'consensus', bulkBytes, bulkLane: 'consensus' }) }
  ])
]

function label (bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`
}

function describeRound (r: HolResult): string {
  const bulk = r.plan.bulkBytes > 0 ? `; bulk ${r.bulkMbPerSec.toFixed(1)} MB/s` : ''
  return `votes p50 ${r.voteP50Ms.toFixed(3)} ms, p99 ${r.voteP99Ms.toFixed(3)} ms, max ${r.voteMaxMs.toFixed(1)} ms, lost ${r.votesLost}/${r.votesSent}${bulk}; pacing late p99 ${r.lateP99Ms.toFixed(2)} ms`
}

function met (ok: boolean): string {
  return ok ? 'met' : 'MISSED'
}

interface Medians { p50: number, p99: number, max: number, mbPerSec: number, lost: number, laneDrops: string, late: number, rate: number }

function medians (rs: HolResult[]): Medians {
  return {
    p50: median(rs.map(r => r.voteP50Ms)),
    p99: median(rs.map(r => r.voteP99Ms)),
    max: Math.max(...rs.map(r => r.voteMaxMs)),
    mbPerSec: median(rs.map(r => r.bulkMbPerSec)),
    lost: rs.reduce((n, r) => n + r.votesLost, 0),
    laneDrops: `${rs.reduce((n, r) => n + r.voteLaneDropped, 0)}/${rs.reduce((n, r) => n + r.bulkLaneDropped, 0)}`,
    late: median(rs.map(r => r.lateP99Ms)),
    rate: median(rs.map(r => r.votesSent / r.plan.seconds))
  }
}

function summarize (byRun: Map<Run, HolResult[]>, quick: boolean): BenchResult[] {
  const idle = medians(byRun.get(RUNS[0]) ?? [])
  return RUNS.map(run => {
    const rs = byRun.get(run) ?? []
    const m = medians(rs)
    const notes = [`median of ${rs.length} rounds${quick ? `, queues of ${QUICK_INIT.queueMaxBytes / 2 ** 20} MiB (quick)` : ''}`]
    if (run.system === 'mirnet-idle-link') {
      notes.push('votes on control, no bulk')
    } else {
      const p99Ratio = m.p99 / idle.p99
      notes.push(run.system === 'mirnet' ? 'votes on control, bulk on bulk' : 'votes and bulk on consensus')
      notes.push(`vote p99 ${p99Ratio.toFixed(2)}× idle-link${run.system === 'mirnet' ? ` (target ≤ ${P99_TARGET}: ${met(p99Ratio <= P99_TARGET)})` : ''}`)
      if (run.system === 'mirnet') {
        const single = RUNS.find(r => r.system === 'single-lane' && r.bulkBytes === run.bulkBytes) as Run
        const bulkRatio = m.mbPerSec / medians(byRun.get(single) ?? []).mbPerSec
        notes.push(`bulk ${bulkRatio.toFixed(2)}× single-lane (target ≥ ${BULK_TARGET}: ${met(bulkRatio >= BULK_TARGET)})`)
      }
    }
    notes.push(`votes lost ${m.lost}${run.system === 'mirnet' ? ` (target 0: ${met(m.lost === 0)})` : ''}`)
    notes.push(`queue drops vote/bulk lane ${m.laneDrops}`, `vote max ${m.max.toFixed(1)} ms`, `pacing late p99 ${m.late.toFixed(2)} ms`)
    const result: BenchResult = {
      scenario: 'hol',
      system: run.system,
      payloadBytes: run.bulkBytes === 0 ? VOTE_BYTES : run.bulkBytes,
      msgsPerSec: round(m.rate, 0),
      p50Ms: round(m.p50),
      p99Ms: round(m.p99),
      droppedMessages: m.lost,
      seconds: rs[0]?.plan.seconds,
      note: notes.join('; ')
    }
    if (run.bulkBytes > 0) result.mbPerSec = m.mbPerSec
    return result
  })
}

async function run (ctx: ScenarioContext): Promise<BenchResult[]> {
  // quick: a smoke check of the figures, no warm-up, and queues of 4 MiB, not
  // 32 MiB, so that draining them after each round takes no time
  const plan = ctx.quick ? { rounds: 1, seconds: 0.4, warmup: 0 } : { rounds: 3, seconds: 8, warmup: 1 }
  const pair = await LinkPair.start('mirnet', ctx.quick ? { init: QUICK_INIT } : {})
  try {
    ctx.progress(`sender/receiver pair connected; ${plan.rounds} rounds × ${plan.seconds} s per row, votes at ${VOTE_RATE} msg/s`)
    // JIT and connection warm-up with the heaviest traffic
    if (plan.warmup > 0) await pair.hol(RUNS[RUNS.length - 1].plan(plan.warmup))
    const byRun = new Map<Run, HolResult[]>(RUNS.map(r => [r, []]))
    for (let i = 0; i < plan.rounds; i++) {
      for (const r of RUNS) {
        const result = await pair.hol(r.plan(plan.seconds))
        byRun.get(r)?.push(result)
        ctx.progress(`round ${i + 1}/${plan.rounds} ${r.system}${r.bulkBytes > 0 ? ` ${label(r.bulkBytes)}` : ''}: ${describeRound(result)}`)
      }
    }
    await pair.close()
    return summarize(byRun, ctx.quick)
  } finally {
    // on failure: nothing may outlive the scenario (a no-op after close)
    await pair.kill()
  }
}

export const scenario: Scenario = {
  name: 'hol',
  description: `head-of-line blocking: ${VOTE_RATE} votes/s (256 B, control lane) under saturating bulk (64 KiB, 1 MiB; bulk lane) vs one shared lane and vs an idle link; vote p50/p99, bulk MB/s`,
  run
}
