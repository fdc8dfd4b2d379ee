/**
 * reconnect: daemons A and B connected, A sending to B once per millisecond
 * (one Send each). Each round kills B with SIGKILL, leaves it down for a
 * while (long enough for A's reconnect backoff to reach its cap), restarts it
 * with the same key on the same address and its membership from a file, and
 * measures from B's ready line (its listener is up) to the first message from
 * A on B's Receive stream. Target <= 1 s.
 *
 * What bounds it: A's Dispatcher redials with full-jitter exponential backoff
 * capped at `--reconnect-max-delay-ms` (DEFAULT_RECONNECT_MAX_DELAY_MS by default), so after a long
 * outage the next dial comes up to one cap after B is back (on average a
 * third of the cap: the residual of a uniform [0, cap) interval). When the
 * default misses, a second row repeats the rounds with a lower cap on A.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { receiveMessages } from '../../src/client/client.ts'
import { connectAll, restartDaemon, startDaemon } from '../lib/daemons.ts'
import { median, percentile, round } from '../lib/stats.ts'
import type { DaemonProcess } from '../lib/daemons.ts'
import type { BenchResult, Scenario, ScenarioContext } from '../lib/types.ts'
import { DEFAULT_RECONNECT_MAX_DELAY_MS } from '../../src/core/constants.ts'

const TARGET_MS = 1000
const LOW_CAP_MS = 250
const SEND_INTERVAL_MS = 1
const FIRST_MESSAGE_TIMEOUT_MS = 15_000

interface Row {
  /** Extra flags for A. */
  args: string[]
  label: string
}

/** SIGTERM, and SIGKILL if it has not exited after `graceMs`; the state folder is removed either way. */
async function shutDown (d: DaemonProcess, ctx: ScenarioContext, graceMs = 5000): Promise<void> {
  const timer = setTimeout(() => { ctx.progress(`daemon ${d.nodeId} did not stop in ${graceMs} ms, killing pid ${d.child.pid}`); d.child.kill('SIGKILL') }, graceMs)
  const code = await d.stop()
  clearTimeout(timer)
  if (code !== 0 && code !== null) ctx.progress(`daemon ${d.nodeId} exited with ${code}`)
}

/** One Send of one small message per `SEND_INTERVAL_MS`, never more than one in flight. */
function startSending (a: DaemonProcess, ctx: ScenarioContext): { stop: () => Promise<{ sent: number, failed: number }> } {
  let seq = 0
  let failed = 0
  let inFlight: Promise<void> | undefined
  const payload = new Uint8Array(8)
  const view = new DataView(payload.buffer)
  const timer = setInterval(() => {
    if (inFlight !== undefined) return
    view.setFloat64(0, seq++)
    inFlight = a.client.send({ messages: [{ destinations: ['b'], payload: payload.slice() }] }).then(
      () => { inFlight = undefined },
      (err: unknown) => { failed++; inFlight = undefined; if (failed === 1) ctx.progress(`Send to A failed: ${String(err)}`) }
    )
  }, SEND_INTERVAL_MS)
  return {
    stop: async () => {
      clearInterval(timer)
      await inFlight
      return { sent: seq, failed }
    }
  }
}

/** Milliseconds from B's ready line to the first message from A on a Receive stream of the restarted B. */
async function restartAndTime (b: DaemonProcess, membershipFile: string): Promise<{ b: DaemonProcess, ms: number }> {
  const restarted = await restartDaemon(b, { args: ['--membership', membershipFile] })
  const ready = performance.now()
  for await (const m of receiveMessages(restarted.client, { signal: AbortSignal.timeout(FIRST_MESSAGE_TIMEOUT_MS) })) {
    if (m.from !== 'a') throw new Error(`restarted B received a message from "${m.from}", expected "a"`)
    return { b: restarted, ms: performance.now() - ready }
  }
  throw new Error('the Receive stream of the restarted B ended without a message')
}

async function runRow (row: Row, rounds: number, outageMs: () => number, ctx: ScenarioContext): Promise<BenchResult> {
  const daemons: DaemonProcess[] = []
  let sender: ReturnType<typeof startSending> | undefined
  try {
    // A and B start at once (start-up is the slow part); whichever started is stopped below if the other failed
    const starts = await Promise.allSettled([startDaemon('a', { args: row.args }), startDaemon('b')])
    for (const st of starts) if (st.status === 'fulfilled') daemons.push(st.value)
    for (const st of starts) if (st.status === 'rejected') throw st.reason
    const a = daemons[0]
    let b = daemons[1]
    await connectAll([a, b])
    const membershipFile = join(b.dir, 'membership.json')
    await writeFile(membershipFile, JSON.stringify({ nodes: [{ id: 'a', address: a.address }, { id: 'b', address: b.address }] }))
    sender = startSending(a, ctx)
    // B must be receiving before the first kill, so that A's link is open and sending
    for await (const m of receiveMessages(b.client, { signal: AbortSignal.timeout(FIRST_MESSAGE_TIMEOUT_MS) })) { if (m.from === 'a') break }
    const times: number[] = []
    const outages: number[] = []
    for (let r = 0; r < rounds; r++) {
      await b.kill()
      const outage = outageMs()
      outages.push(outage)
      await sleep(outage)
      const next = await restartAndTime(b, membershipFile)
      daemons[daemons.indexOf(b)] = next.b
      b = next.b
      times.push(next.ms)
      ctx.progress(`${row.label}: round ${r + 1}/${rounds}: down ${(outage / 1000).toFixed(1)} s, first message ${next.ms.toFixed(0)} ms after B was ready`)
    }
    const { sent, failed } = await sender.stop()
    sender = undefined
    const status = await a.client.getStatus({})
    const peer = status.peers.find(p => p.nodeId === 'b')
    const med = median(times)
    const max = Math.max(...times)
    const verdict = med <= TARGET_MS && max <= TARGET_MS ? `target <= ${TARGET_MS} ms met` : `target <= ${TARGET_MS} ms MISSED (${med > TARGET_MS ? 'median' : 'max'})`
    return {
      scenario: 'reconnect',
      system: row.label,
      p50Ms: round(med, 1),
      p99Ms: round(percentile(times, 99), 1),
      seconds: round(med / 1000, 3),
      note: `${rounds} rounds, B down ${(Math.min(...outages) / 1000).toFixed(1)}-${(Math.max(...outages) / 1000).toFixed(1)} s each; ready line -> first message on B's Receive: median ${med.toFixed(0)} ms, max ${max.toFixed(0)} ms, all [${times.map(t => t.toFixed(0)).join(', ')}] ms; A: ${sent} Sends (${failed} failed), ${Number(peer?.reconnects ?? 0)} reconnects, ${Number(peer?.droppedMessages ?? 0)} dropped, ${Number(peer?.lostInFlightMessages ?? 0)} lost in flight; ${verdict}`
    }
  } finally {
    if (sender !== undefined) await sender.stop()
    await Promise.all(daemons.map(async d => { await shutDown(d, ctx) }))
  }
}

async function run (ctx: ScenarioContext): Promise<BenchResult[]> {
  // quick: two rounds (each is a daemon start-up), B down for twice the default cap
  const rounds = ctx.quick ? 2 : 10
  // long enough for the backoff to reach its cap (ceilings 100, 200, 400, … ms up to the cap)
  const outageMs = ctx.quick ? () => 1000 : () => 3000 + Math.random() * 2000
  const results: BenchResult[] = []
  const byDefault = await runRow({ args: [], label: `mirnet (default cap ${DEFAULT_RECONNECT_MAX_DELAY_MS} ms)` }, rounds, outageMs, ctx)
  results.push(byDefault)
  ctx.progress(byDefault.note as string)
  if ((byDefault.p99Ms ?? 0) > TARGET_MS || (byDefault.p50Ms ?? 0) > TARGET_MS) {
    const lowCap = await runRow({ args: ['--reconnect-max-delay-ms', String(LOW_CAP_MS)], label: `mirnet (cap ${LOW_CAP_MS} ms)` }, rounds, outageMs, ctx)
    results.push(lowCap)
    ctx.progress(lowCap.note as string)
  }
  return results
}

export const scenario: Scenario = {
  name: 'reconnect',
  description: 'kill -9 and restart B (same key and address) while A sends: B ready -> first message from A delivered; target <= 1 s',
  run
}
