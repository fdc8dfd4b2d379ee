/**
 * scale: 32 daemons on this machine (4 with --quick), started a few at a time
 * (start-up is not measured), then Connect with the full membership issued to
 * all of them at once: time until every daemon's AwaitConnections reports all
 * members connected. Then idle CPU per daemon over a quiet period (from
 * /proc, as % of one core) and RSS per daemon. Once over libp2p (system
 * `mirnet`), once over the TLS transport (`mirnet-tls`) and once over the
 * gRPC transport (`mirnet-grpc`), one after the other; each row's system
 * names its transport. Targets: membership applied everywhere <= 2 s; idle
 * CPU <= 1% per daemon.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { cpuSeconds, rssMb, startDaemon } from '../lib/daemons.ts'
import { median, round } from '../lib/stats.ts'
import type { DaemonProcess } from '../lib/daemons.ts'
import type { BenchResult, Scenario, ScenarioContext } from '../lib/types.ts'

const TARGET_CONNECT_MS = 2000
const TARGET_IDLE_CPU_PERCENT = 1
/** Daemons starting at once: node start-up is CPU-bound and there are 2 cores. */
const START_CONCURRENCY = 3
const CONNECT_TIMEOUT_MS = 60_000

/** SIGTERM, and SIGKILL if it has not exited after `graceMs`; the state folder is removed either way. */
async function shutDown (d: DaemonProcess, ctx: ScenarioContext, graceMs = 10_000): Promise<void> {
  const timer = setTimeout(() => { ctx.progress(`daemon ${d.nodeId} did not stop in ${graceMs} ms, killing pid ${d.child.pid}`); d.child.kill('SIGKILL') }, graceMs)
  const code = await d.stop()
  clearTimeout(timer)
  if (code !== 0 && code !== null) ctx.progress(`daemon ${d.nodeId} exited with ${code}`)
}

/** The transports measured: the `mirnet serve --transport` value and the row's system name. */
const TRANSPORTS = [
  { transport: 'libp2p', system: 'mirnet' },
  { transport: 'tls', system: 'mirnet-tls' },
  { transport: 'grpc', system: 'mirnet-grpc' }
] as const

type Measured = typeof TRANSPORTS[number]

async function startAll (n: number, daemons: DaemonProcess[], ctx: ScenarioContext, on: Measured): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < n) {
      const id = `n${String(next++).padStart(2, '0')}`
      daemons.push(await startDaemon(id, { args: ['--transport', on.transport] }))
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: START_CONCURRENCY }, worker))
  daemons.sort((a, b) => a.nodeId.localeCompare(b.nodeId))
  ctx.progress(`${n} daemons (${on.transport}) started in ${((performance.now() - t0) / 1000).toFixed(1)} s (${START_CONCURRENCY} at a time)`)
}

function stats (values: number[]): { mean: number, max: number } {
  return { mean: values.reduce((s, v) => s + v, 0) / values.length, max: Math.max(...values) }
}

async function run (ctx: ScenarioContext): Promise<BenchResult[]> {
  const results: BenchResult[] = []
  for (const on of TRANSPORTS) results.push(...await measure(ctx, on))
  return results
}

async function measure (ctx: ScenarioContext, on: Measured): Promise<BenchResult[]> {
  // quick: a mesh of 4 per transport (12 daemon start-ups, the bulk of the time, not 24) and short quiet periods
  const n = ctx.quick ? 4 : 32
  const idleSeconds = ctx.quick ? 1 : 20
  const settleMs = ctx.quick ? 250 : 1000
  const daemons: DaemonProcess[] = []
  try {
    await startAll(n, daemons, ctx, on)
    await sleep(settleMs) // let start-up work (JIT, GC) settle before the clock starts
    const nodes = daemons.map(d => ({ id: d.nodeId, address: d.address }))
    const pids = daemons.map(d => d.child.pid as number)
    const connectCpu0 = await Promise.all(pids.map(cpuSeconds))
    const t0 = performance.now()
    const doneMs = await Promise.all(daemons.map(async d => {
      await d.client.connect({ nodes })
      await d.client.awaitConnections({ minConnected: n }, { signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS) })
      return performance.now() - t0
    }))
    const allMs = Math.max(...doneMs)
    const connectCpu1 = await Promise.all(pids.map(cpuSeconds))
    const connectCpuSeconds = connectCpu1.reduce((sum, c, i) => sum + c - connectCpu0[i], 0)
    ctx.progress(`${on.system}: all ${n} daemons see ${n} connected after ${allMs.toFixed(0)} ms (median daemon ${median(doneMs).toFixed(0)} ms); CPU of all daemons meanwhile ${connectCpuSeconds.toFixed(1)} s`)

    // what it took: redials and the errors that caused them
    const statuses = await Promise.all(daemons.map(async d => await d.client.getStatus({})))
    let reconnects = 0
    let outbound = 0
    const errors = new Map<string, number>()
    for (const s of statuses) {
      for (const p of s.peers) {
        reconnects += Number(p.reconnects)
        if (p.nodeId !== s.nodeId && p.inboundOpen) outbound++
        if (p.lastError !== '') {
          const key = p.lastError.replace(/\/p2p\/\w+|\d+\.\d+\.\d+\.\d+:\d+|tcp\/\d+/g, '…').slice(0, 90)
          errors.set(key, (errors.get(key) ?? 0) + 1)
        }
      }
    }
    const errorNote = errors.size === 0
      ? 'no dial errors'
      : `dial errors (member links with a last_error): ${[...errors].map(([e, c]) => `${c}x "${e}"`).join(', ')}`

    await sleep(settleMs)
    const cpu0 = await Promise.all(pids.map(cpuSeconds))
    const c0 = performance.now()
    await sleep(idleSeconds * 1000)
    const cpu1 = await Promise.all(pids.map(cpuSeconds))
    const elapsed = (performance.now() - c0) / 1000
    const cpuPercent = stats(cpu1.map((c, i) => (c - cpu0[i]) / elapsed * 100))
    const rss = stats(await Promise.all(pids.map(rssMb)))
    ctx.progress(`${on.system}: idle CPU per daemon over ${elapsed.toFixed(1)} s: mean ${cpuPercent.mean.toFixed(2)}%, max ${cpuPercent.max.toFixed(2)}% of a core; RSS mean ${rss.mean.toFixed(0)} MB, max ${rss.max.toFixed(0)} MB`)

    const connectVerdict = allMs <= TARGET_CONNECT_MS ? `target <= ${TARGET_CONNECT_MS / 1000} s met` : `target <= ${TARGET_CONNECT_MS / 1000} s MISSED`
    const cpuVerdict = cpuPercent.max <= TARGET_IDLE_CPU_PERCENT ? `target <= ${TARGET_IDLE_CPU_PERCENT}% met` : `target <= ${TARGET_IDLE_CPU_PERCENT}% MISSED`
    return [{
      scenario: 'scale',
      system: `${on.system} ${n} daemons: Connect`,
      p50Ms: round(median(doneMs), 1),
      p99Ms: round(allMs, 1),
      seconds: round(allMs / 1000, 3),
      note: `full mesh of ${n}, Connect issued to all at once -> every AwaitConnections(${n}) returned: all ${allMs.toFixed(0)} ms, median daemon ${median(doneMs).toFixed(0)} ms; CPU of all daemons meanwhile ${connectCpuSeconds.toFixed(1)} s; ${reconnects} reconnects; ${errorNote}; ${connectVerdict}`
    }, {
      scenario: 'scale',
      system: `${on.system} ${n} daemons: idle`,
      rssMb: round(rss.mean, 1),
      cpuPercent: round(cpuPercent.mean, 2),
      seconds: round(elapsed, 1),
      note: `idle CPU per daemon over ${elapsed.toFixed(0)} s: mean ${cpuPercent.mean.toFixed(2)}%, max ${cpuPercent.max.toFixed(2)}% of a core; RSS per daemon mean ${rss.mean.toFixed(0)} MB, max ${rss.max.toFixed(0)} MB (${n} daemons ${(rss.mean * n / 1024).toFixed(1)} GB); ${cpuVerdict}`
    }]
  } finally {
    await Promise.all(daemons.map(async d => { await shutDown(d, ctx) }))
  }
}

export const scenario: Scenario = {
  name: 'scale',
  description: '32 daemons (4 quick), full mesh, over libp2p, TLS and gRPC: Connect to all -> all connected (target <= 2 s); idle CPU per daemon (target <= 1%) and RSS',
  run
}
