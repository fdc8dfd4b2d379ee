import FakeTimers from '@sinonjs/fake-timers'
import { KiB, MiB } from '../core/constants.ts'
import { Cluster } from './cluster.ts'
import { Faults } from './faults.ts'
import { Invariants, accountingGap, boundsBreach } from './invariants.ts'
import { Prng } from './prng.ts'
import { SimClock } from './sim-clock.ts'
import { SimNetwork } from './sim-network.ts'
import { Trace } from './trace.ts'
import { Workload } from './workload.ts'
import type { NetworkModuleInit } from '../core/config.ts'
import type { Life, SimNode } from './cluster.ts'
import type { FaultKind } from './faults.ts'

/** Deliberate bugs, to show that the invariants catch them (tests only). */
export type Sabotage = 'duplicate-delivery' | 'drop-delivery'

export interface SimOptions {
  seed: number
  /** Nodes at the start (3-7); drawn from the seed when not given. */
  nodes?: number
  /** Virtual seconds of workload and faults, before everything heals. @default 60 */
  virtualSeconds?: number
  /** Virtual seconds after the heal within which every link must be open and every lane drained. @default 60 */
  healSeconds?: number
  sabotage?: Sabotage
  /** Events kept for a violation's report. @default 40 */
  traceTail?: number
}

export interface SimResult {
  seed: number
  nodes: number
  /** sha256 of the event trace. */
  digest: string
  virtualMs: number
  faults: Map<FaultKind, number>
  /** Messages checked as they entered an inbox. */
  messagesChecked: number
  /** Messages handed to send(), per destination. */
  messagesSent: number
  /** Messages the consumers took. */
  messagesTaken: number
  lives: number
  /** (sender life, receiver life, lane) checked for loss message by message at the end: neither end restarted nor removed the other since the first message. */
  lanesCheckedForLoss: number
  events: number
  violation?: { invariant: string, message: string, tail: string[] }
}

/** The NetworkModule settings of one seed: small bounds, so that queues overflow, windows fill and chunks interleave. */
function drawConfig (p: Prng): NetworkModuleInit {
  const chunkBytes = p.pick([1 * KiB, 4 * KiB, 16 * KiB])
  return {
    queueCapacity: p.pick([16, 64, 256]),
    queueMaxBytes: p.pick([512 * KiB, 2 * MiB]),
    windowMessages: p.pick([16, 128, 1024]),
    windowBytes: p.pick([16 * KiB, 64 * KiB, 256 * KiB]),
    chunkBytes,
    coalesceBytes: Math.max(chunkBytes, p.pick([8 * KiB, 64 * KiB])),
    maxFrameBytes: 256 * KiB,
    inboxCapacity: p.pick([64, 512]),
    inboxMaxBytes: p.pick([1 * MiB, 8 * MiB]),
    inboxMinCredit: p.pick([4, 32]),
    inboxTargetMs: p.pick([50, 100, 500]),
    tentativeMaxReceivers: p.pick([2, 4]),
    tentativeMaxMessages: p.pick([8, 64]),
    tentativeMaxBytes: 512 * KiB,
    dialYieldMs: p.pick([0, 200, 5_000]),
    dialTimeoutMs: p.pick([1_000, 3_000]),
    reconnectInitialDelayMs: 100,
    reconnectMaxDelayMs: p.pick([500, 2_000]),
    keepaliveIntervalMs: 1_000,
    keepaliveTimeoutMs: 3_000,
    idleKeepaliveIntervalMs: 5_000,
    closeGraceMs: 500
  }
}

/** Every microtask runs before the next timer fires: a turn of the real event loop, in which nothing else of the simulation runs. */
async function drainMicrotasks (): Promise<void> {
  await new Promise<void>(resolve => { setImmediate(resolve) })
}

/**
 * One seeded run of the core: nodes on a simulated network, all on one
 * fake clock, with a seeded workload and fault schedule, every invariant
 * checked as messages arrive and every 200 virtual ms; then everything
 * heals and the run must converge (every link open, every lane drained,
 * nothing lost that was not counted); then every node closes and no timer
 * may be left. Stops at the first violation.
 */
export async function runSimulation (options: SimOptions): Promise<SimResult> {
  const fake = FakeTimers.createClock(1_000_000)
  const startMs = fake.now
  const root = new Prng(options.seed)
  const configPrng = root.fork()
  const networkPrng = root.fork()
  const faultPrng = root.fork()
  const workloadPrng = root.fork()
  const nodePrng = root.fork()
  const config = drawConfig(configPrng)
  const nodeCount = options.nodes ?? configPrng.int(3, 7)
  const load = configPrng.logUniform(0.1, 1)
  const trace = new Trace(() => fake.now, options.traceTail ?? 40)
  const simClock = new SimClock(fake, 'simulation')
  let cluster: Cluster | undefined
  const invariants = new Invariants(trace, (sender, life) => cluster?.node(sender)?.lives[life])
  const windowBytes = configPrng.pick([16 * KiB, 64 * KiB, 256 * KiB])
  const network = new SimNetwork({
    clock: new SimClock(fake, 'network'),
    prng: networkPrng,
    trace,
    windowBytes,
    writeBufferLimit: windowBytes + 2 * (config.coalesceBytes as number) + 2 * (config.chunkBytes as number) + 64 * KiB,
    onViolation: (i, d) => { invariants.fail(i, d) }
  })
  let workload: Workload | undefined
  const c = cluster = new Cluster({
    fake,
    network,
    prng: nodePrng,
    trace,
    invariants,
    config,
    onStart: (life) => { workload?.attach(life, workloadPrng.fork()) },
    onEnd: (life) => { workload?.detach(life) }
  })
  const w = workload = new Workload({
    cluster: c,
    invariants,
    trace,
    load,
    chunkBytes: config.chunkBytes as number,
    maxFrameBytes: config.maxFrameBytes as number,
    queueCapacity: config.queueCapacity as number
  })
  if (options.sabotage !== undefined) sabotage(c, options.sabotage, faultPrng.fork())
  trace.event('seed', `${options.seed} nodes ${nodeCount} load ${load.toFixed(3)} config ${JSON.stringify(config)} window ${windowBytes}`)

  const restart = (node: SimNode): void => {
    c.start(node, c.specs()).catch((err: unknown) => { invariants.fail('a node starts', `${node.nodeId}: ${String(err)}`) })
  }
  const startIntruder = (): void => {
    const node = c.addIntruder()
    const specs = [...c.specs(), { id: node.nodeId, address: node.address }]
    c.start(node, specs).catch((err: unknown) => { invariants.fail('a node starts', `${node.nodeId}: ${String(err)}`) })
    simClock.setTimeout(() => { c.close(node) }, faultPrng.logUniform(1_000, 20_000))
  }
  const faults = new Faults({
    clock: simClock,
    prng: faultPrng,
    network,
    cluster: c,
    workload: w,
    trace,
    meanGapMs: faultPrng.logUniform(300, 5_000),
    deadChance: faultPrng.pick([0, 0.3, 1]),
    maxNodes: Math.min(7, nodeCount + 1),
    spreadMs: faultPrng.pick([0, 200, 3_000]),
    restart,
    startIntruder
  })

  let steps = 0
  let sameTimeSteps = 0
  let lastNow = fake.now
  /** Fire timers one at a time, microtasks drained after each, until `untilMs`, a violation, or `done()`. */
  const run = async (untilMs: number, done: () => boolean = () => false): Promise<void> => {
    let reached = false
    const sentinel = fake.setTimeout(() => { reached = true }, Math.max(0, untilMs - fake.now))
    try {
      while (!reached && invariants.violation === undefined && !done()) {
        fake.next()
        await drainMicrotasks()
        steps++
        if (fake.now === lastNow) {
          if (++sameTimeSteps > 1_000_000) invariants.fail('virtual time advances', `a million timers fired at ${fake.now} ms`)
        } else {
          lastNow = fake.now
          sameTimeSteps = 0
        }
      }
    } finally {
      fake.clearTimeout(sentinel)
    }
  }

  /** Bounds and accounting of every live life, every 200 virtual ms. */
  const checkAll = (): void => {
    for (const life of [...c.live(), ...c.liveIntruders()]) {
      const breach = boundsBreach(life.module.stats(), life.module.config)
      if (breach !== undefined) invariants.fail('memory bounds hold', breach)
      for (const dest of life.epochs.keys()) c.checkAccounting(life, dest)
    }
  }
  simClock.setInterval(checkAll, 200)

  // the first membership: every node lists all
  for (let i = 0; i < nodeCount; i++) c.members.add(c.addNode())
  const specs = c.specs()
  for (const node of c.members) restart(node)
  await drainMicrotasks()
  for (const life of c.live()) c.apply(life, specs)

  // chaos
  faults.start()
  const chaosEndMs = startMs + 1000 * (options.virtualSeconds ?? 60)
  await run(chaosEndMs)

  // heal: faults end, crashed members restart, non-members stop, every member gets the final membership
  if (invariants.violation === undefined) {
    trace.event('heal', 'all')
    faults.healAll()
    for (const node of [...c.nodes, ...c.intruders]) {
      if (!c.members.has(node) && node.current !== undefined) c.close(node)
    }
    for (const node of c.members) if (node.current === undefined && !node.lives.some(l => l.alive)) restart(node)
    await drainMicrotasks()
    w.drain()
    const final = c.specs()
    for (const life of c.live()) if (c.members.has(life.node)) c.apply(life, final)
    let settled = false
    const settle = simClock.setInterval(() => { settled = unsettled(c).length === 0 }, 100)
    await run(fake.now + 1000 * (options.healSeconds ?? 60), () => settled)
    simClock.clearInterval(settle)
    if (invariants.violation === undefined && !settled) {
      invariants.fail('every link to a live member ends up open', `${options.healSeconds ?? 60} virtual s after the heal: ${unsettled(c).slice(0, 4).join('; ')}`)
    }
  }

  // nothing lost but what was counted
  let lanesCheckedForLoss = 0
  if (invariants.violation === undefined) {
    checkAll()
    lanesCheckedForLoss = finalAccounting(c, invariants)
  }

  // close everything: no timer may be left
  if (invariants.violation === undefined) {
    for (const node of [...c.nodes, ...c.intruders]) c.close(node)
    await run(fake.now + 60_000, () => c.closing.size === 0)
    simClock.clearAll()
    for (const node of [...c.nodes, ...c.intruders]) for (const life of node.lives) life.appClock.clearAll()
    // the run's own sentinel is the one timer left when the others are gone
    await run(fake.now + 60_000, () => fake.countTimers() <= 1)
    if (invariants.violation === undefined && fake.countTimers() > 0) {
      invariants.fail('close() leaves no timer', `${fake.countTimers()} timers left on the fake clock after every node closed (network: ${network.openChannels} open channel ends)`)
    }
  }

  trace.event('end', `sent ${w.sent} taken ${w.taken} checked ${invariants.messagesChecked} steps ${steps}`)
  const v = invariants.violation
  return {
    seed: options.seed,
    nodes: nodeCount,
    virtualMs: fake.now - startMs,
    faults: faults.counts,
    messagesChecked: invariants.messagesChecked,
    messagesSent: w.sent,
    messagesTaken: w.taken,
    lives: [...c.nodes, ...c.intruders].reduce((n, node) => n + node.lives.length, 0),
    lanesCheckedForLoss,
    events: trace.events,
    violation: v === undefined ? undefined : { invariant: v.invariant, message: v.message, tail: trace.tail() },
    digest: trace.digest()
  }
}

/** What still keeps the run from having converged: links not open, lanes not drained, inboxes not empty. */
function unsettled (c: Cluster): string[] {
  const out: string[] = []
  if (c.closing.size > 0) out.push(`${c.closing.size} lives still closing`)
  const target = [...c.members]
  for (const node of target) {
    const life = node.current
    if (life === undefined) {
      out.push(`${node.nodeId} is not running`)
      continue
    }
    for (const d of target) {
      if (d === node) continue
      const s = life.module.peerStats(d.nodeId)
      if (s === undefined) {
        out.push(`${life.id} does not list ${d.nodeId}`)
        continue
      }
      if (s.state !== 'open') out.push(`${life.id} -> ${d.nodeId} is ${s.state} (${s.lastError ?? 'no error'})`)
      else if (s.queued > 0 || s.unconfirmedMessages > 0) out.push(`${life.id} -> ${d.nodeId} holds ${s.queued} queued, ${s.unconfirmedMessages} unconfirmed`)
    }
    if (life.module.inbox.length > 0) out.push(`${life.id} inbox holds ${life.module.inbox.length}`)
  }
  return out
}

/**
 * After convergence: for every sender life and destination whose receiving
 * life was the same, and had not removed the sender, since the sender's
 * first message to it, every message is either taken by that receiver's
 * consumer or counted as dropped by the sender's queue; nothing was lost in
 * flight or discarded. A receiver whose tentative receivers lost messages
 * (counted) may miss at most that many.
 */
function finalAccounting (c: Cluster, invariants: Invariants): number {
  let checked = 0
  for (const node of c.members) {
    const receiver = node.current
    if (receiver === undefined) continue
    const losses = receiver.module.stats().tentativeLosses
    const tentativeLost = losses.droppedMessages + losses.evictedMessages + losses.closedMessages
    let missing = 0
    for (const senderNode of c.members) {
      const sender = senderNode.current
      if (sender === undefined) continue
      const e = sender.epochs.get(node.nodeId)
      if (e === undefined) continue
      const clean = e.receiverLife === receiver && (receiver.removals.get(sender.nodeId) ?? 0) === e.receiverRemovals
      if (!clean) continue
      const stats = sender.module.peerStats(node.nodeId)
      if (stats === undefined) continue
      for (let lane = 0; lane < e.pushes.length; lane++) {
        const s = stats.lanes[lane]
        checked++
        const gap = accountingGap(e.pushes[lane], s)
        if (gap !== undefined) invariants.fail('every message accounted for', `${sender.id} -> ${receiver.id} lane ${s.lane}: ${gap}`)
        if (s.lostInFlightMessages > 0 || s.discardedMessages > 0) {
          invariants.fail('nothing lost while both ends live', `${sender.id} -> ${receiver.id} lane ${s.lane}: ${s.lostInFlightMessages} lost in flight, ${s.discardedMessages} discarded, though neither end restarted nor was removed`)
        }
        const taken = invariants.takenCount(sender.id, receiver.id, lane, e.startSeq[lane])
        if (taken > s.acknowledgedMessages) {
          invariants.fail('nothing lost while both ends live', `${sender.id} -> ${receiver.id} lane ${s.lane}: the consumer took ${taken}, more than the ${s.acknowledgedMessages} acknowledged`)
        }
        missing += s.acknowledgedMessages - taken
        if (tentativeLost === 0 && taken !== s.acknowledgedMessages) {
          invariants.fail('nothing lost while both ends live', `${sender.id} -> ${receiver.id} lane ${s.lane}: ${e.pushes[lane]} sent, ${s.droppedMessages} dropped by the sender's queue, ${s.acknowledgedMessages} acknowledged, but the consumer took ${taken}`)
        }
      }
    }
    if (missing > tentativeLost) {
      invariants.fail('nothing lost while both ends live', `${receiver.id}: ${missing} acknowledged messages never reached the consumer, more than the ${tentativeLost} its tentative receivers lost`)
    }
  }
  return checked
}

/** Break delivery on purpose: every 50th message into an inbox is pushed twice, or not at all. */
function sabotage (c: Cluster, how: Sabotage, prng: Prng): void {
  const original = c.start.bind(c)
  let n = 0
  c.start = async (node, specs) => {
    const life: Life = await original(node, specs)
    const inbox = life.module.inbox
    const push = inbox.push.bind(inbox)
    inbox.push = (from, lane, payload, nowMs) => {
      if (from !== life.nodeId && ++n % 50 === 0 && prng.chance(0.5)) {
        if (how === 'drop-delivery') return
        push(from, lane, payload, nowMs)
      }
      push(from, lane, payload, nowMs)
    }
    return life
  }
}
