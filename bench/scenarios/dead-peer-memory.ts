/**
 * dead-peer-memory: one daemon whose membership holds a member that is down
 * (the address of a daemon that was stopped: a valid peer id, nothing
 * listening), and a client offering 100k msg/s of 256 B to that member through
 * one paced SendStream (bench/workers/mem-sender.ts, a separate process). The
 * daemon's RSS is sampled every second from /proc, with GetStatus for the
 * dead member's queue and drops. Target: RSS <= 150 MB and flat once the
 * queue is full.
 */
import { fork } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { cpuSeconds, rssMb, startDaemon } from '../lib/daemons.ts'
import { round } from '../lib/stats.ts'
import type { ChildProcess } from 'node:child_process'
import type { DaemonProcess } from '../lib/daemons.ts'
import type { BenchResult, Scenario, ScenarioContext } from '../lib/types.ts'
import type { FromMemSender, MemSenderArgs } from '../workers/mem-sender.ts'

const SENDER_ENTRY = fileURLToPath(new URL('../workers/mem-sender.ts', import.meta.url))
const RATE = 100_000
const PAYLOAD_BYTES = 256
const BATCH_MESSAGES = 1000
const SAMPLE_MS = 1000
const TARGET_RSS_MB = 150
const DEAD_ID = 'dead'
const LIVE_ID = 'live'

interface Sample {
  t: number
  rss: number
  queued: number
  dropped: number
}

async function run (ctx: ScenarioContext): Promise<BenchResult[]> {
  // quick: the queue is full within the first second at this rate; 3 s show the RSS once it is
  const seconds = ctx.quick ? 3 : 60
  let live: DaemonProcess | undefined
  let sender: ChildProcess | undefined
  try {
    // a member that is down: a real peer id and address, with the daemon stopped
    // both start at once (start-up is the slow part), then the dead one stops
    const [deadStart, liveStart] = await Promise.allSettled([startDaemon(DEAD_ID), startDaemon(LIVE_ID)])
    if (liveStart.status === 'fulfilled') live = liveStart.value
    if (deadStart.status === 'fulfilled') await shutDown(deadStart.value, ctx)
    if (deadStart.status === 'rejected') throw deadStart.reason
    if (liveStart.status === 'rejected') throw liveStart.reason
    const dead = deadStart.value
    live = liveStart.value
    const pid = live.child.pid as number
    await live.client.connect({ nodes: [{ id: LIVE_ID, address: live.address }, { id: DEAD_ID, address: dead.address }] })
    await sleep(500)
    const idleRss = await rssMb(pid)
    ctx.progress(`daemon idle at ${idleRss.toFixed(0)} MB; offering ${RATE} msg/s of ${PAYLOAD_BYTES} B to a dead member for ${seconds} s`)

    const args: MemSenderArgs = { api: live.api, destination: DEAD_ID, rate: RATE, payloadBytes: PAYLOAD_BYTES, seconds, batchMessages: BATCH_MESSAGES }
    const child = fork(SENDER_ENTRY, [JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    sender = child
    const started = new Promise<void>((resolve, reject) => {
      child.on('message', (m: FromMemSender) => { if (m.type === 'started') resolve(); else if (m.type === 'error') reject(new Error(`mem-sender: ${m.message}`)) })
      child.once('exit', code => { reject(new Error(`mem-sender exited with ${code} before it started`)) })
    })
    const done = new Promise<Extract<FromMemSender, { type: 'done' }>>((resolve, reject) => {
      child.on('message', (m: FromMemSender) => { if (m.type === 'done') resolve(m); else if (m.type === 'error') reject(new Error(`mem-sender: ${m.message}`)) })
      child.once('exit', code => { reject(new Error(`mem-sender exited with ${code} before it reported`)) })
    })
    done.catch(() => {}) // observed below; avoid an unhandled rejection while sampling
    await started
    const t0 = performance.now()
    const cpu0 = await cpuSeconds(pid)
    const samples: Sample[] = []
    let finished = false
    void done.then(() => { finished = true }, () => { finished = true })
    while (!finished) {
      const [rss, status] = await Promise.all([rssMb(pid), live.client.getStatus({})])
      const peer = status.peers.find(p => p.nodeId === DEAD_ID)
      const s = { t: (performance.now() - t0) / 1000, rss, queued: Number(peer?.queuedMessages ?? 0), dropped: Number(peer?.droppedMessages ?? 0) }
      samples.push(s)
      if (samples.length % 10 === 0 || ctx.quick) ctx.progress(`t=${s.t.toFixed(0)} s RSS ${rss.toFixed(0)} MB, queued ${s.queued}, dropped ${s.dropped}`)
      await Promise.race([sleep(SAMPLE_MS), done.catch(() => {})])
    }
    const result = await done
    const cpu = (await cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000)
    const status = await live.client.getStatus({})
    const peer = status.peers.find(p => p.nodeId === DEAD_ID)
    const dropped = Number(peer?.droppedMessages ?? 0)
    const queuedNow = Number(peer?.queuedMessages ?? 0)
    const endRss = await rssMb(pid)
    samples.push({ t: (performance.now() - t0) / 1000, rss: endRss, queued: queuedNow, dropped })

    const full = samples.find(s => s.dropped > 0)
    const maxRss = Math.max(idleRss, ...samples.map(s => s.rss))
    const afterFull = full === undefined ? [] : samples.filter(s => s.t >= full.t)
    const maxAfterFull = afterFull.length === 0 ? Number.NaN : Math.max(...afterFull.map(s => s.rss))
    const offeredRate = result.offered / result.elapsedSeconds
    const accounted = dropped + queuedNow + Number(peer?.sentMessages ?? 0) + Number(peer?.lostInFlightMessages ?? 0)
    const notes = [
      `offered ${Math.round(offeredRate).toLocaleString('en-US')} msg/s (target ${RATE.toLocaleString('en-US')}) for ${result.elapsedSeconds.toFixed(1)} s: ${result.offered} msgs`,
      `daemon queued ${result.queued}, GetStatus dropped ${dropped} + still queued ${queuedNow}${accounted === result.offered ? ' = offered' : ` (offered - accounted = ${result.offered - accounted})`}`,
      `RSS idle ${idleRss.toFixed(0)} MB, queue full at t=${full?.t.toFixed(0) ?? '?'} s: ${full?.rss.toFixed(0) ?? '?'} MB, max after ${maxAfterFull.toFixed(0)} MB, end ${endRss.toFixed(0)} MB`,
      `daemon CPU ${(cpu * 100).toFixed(0)}% of a core`,
      maxRss <= TARGET_RSS_MB ? `target <= ${TARGET_RSS_MB} MB met` : `target <= ${TARGET_RSS_MB} MB MISSED`
    ]
    ctx.progress(notes.join('; '))
    return [{
      scenario: 'dead-peer-memory',
      system: 'mirnet',
      payloadBytes: PAYLOAD_BYTES,
      msgsPerSec: round(offeredRate, 0),
      rssMb: round(maxRss, 1),
      seconds: round(result.elapsedSeconds, 1),
      note: notes.join('; ')
    }]
  } finally {
    if (sender !== undefined && sender.exitCode === null && sender.signalCode === null) sender.kill('SIGKILL')
    if (live !== undefined) await shutDown(live, ctx)
  }
}

/** SIGTERM, and SIGKILL if it has not exited after `graceMs`; the state folder is removed either way. */
async function shutDown (d: DaemonProcess, ctx: ScenarioContext, graceMs = 5000): Promise<void> {
  const timer = setTimeout(() => { ctx.progress(`daemon ${d.nodeId} did not stop in ${graceMs} ms, killing pid ${d.child.pid}`); d.child.kill('SIGKILL') }, graceMs)
  const code = await d.stop()
  clearTimeout(timer)
  if (code !== 0) ctx.progress(`daemon ${d.nodeId} exited with ${code}`)
}

export const scenario: Scenario = {
  name: 'dead-peer-memory',
  description: 'RSS of a daemon offered 100k msg/s (256 B) for a member that is down; target <= 150 MB, flat once its queue is full',
  run
}
