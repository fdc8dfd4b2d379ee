import type { Cluster, SimNode } from './cluster.ts'
import type { Prng } from './prng.ts'
import type { SimClock } from './sim-clock.ts'
import type { SimNetwork } from './sim-network.ts'
import type { Trace } from './trace.ts'
import type { Workload } from './workload.ts'

/** The kinds of fault the simulation injects. */
export const FAULT_KINDS = [
  'cut', 'partition', 'one-way-partition', 'isolate', 'stall-reader', 'slow-link',
  'crash', 'remove', 'add', 'address-change', 'intruder', 'slow-consumer'
] as const
export type FaultKind = typeof FAULT_KINDS[number]

export interface FaultsInit {
  clock: SimClock
  prng: Prng
  network: SimNetwork
  cluster: Cluster
  workload: Workload
  trace: Trace
  /** Mean virtual ms between two faults. */
  meanGapMs: number
  /** Chance that a partitioned direction does not survive the heal (a dead TCP connection). */
  deadChance: number
  /** Upper bound on nodes in the simulation (adds make new ones up to it). */
  maxNodes: number
  /** How long the membership takes to reach every node. */
  spreadMs: number
  restart: (node: SimNode) => void
  startIntruder: () => void
}

/**
 * The fault schedule: a Poisson process of faults of random kinds, each
 * healed after a random time; every one on the simulation's clock and
 * from its own random stream, and counted by kind. `healAll()` ends them
 * all at once (before the final checks).
 */
export class Faults {
  readonly counts = new Map<FaultKind, number>()
  readonly #init: FaultsInit
  readonly #heals = new Map<number, () => void>()
  #nextHeal = 0
  #running = false

  constructor (init: FaultsInit) {
    this.#init = init
  }

  get total (): number {
    let n = 0
    for (const c of this.counts.values()) n += c
    return n
  }

  start (): void {
    this.#running = true
    this.#schedule()
  }

  /** Stop injecting; heal what is still in force (crashed members restart, partitions end, stalls end). */
  healAll (): void {
    this.#running = false
    const heals = [...this.#heals.values()]
    this.#heals.clear()
    for (const heal of heals) heal()
  }

  #schedule (): void {
    const { clock, prng, meanGapMs } = this.#init
    clock.setTimeout(() => {
      if (!this.#running) return
      this.#inject()
      this.#schedule()
    }, prng.exp(meanGapMs))
  }

  /** Run `heal` after `ms`, or at `healAll()`, whichever is first. */
  #later (ms: number, heal: () => void): void {
    const id = this.#nextHeal++
    const timer = this.#init.clock.setTimeout(() => {
      this.#heals.delete(id)
      heal()
    }, ms)
    this.#heals.set(id, () => {
      this.#init.clock.clearTimeout(timer)
      heal()
    })
  }

  #inject (): void {
    const { prng, network, cluster, trace } = this.#init
    const kind = prng.pick(FAULT_KINDS)
    const live = cluster.live()
    const nodes = live.map(l => l.node)
    const done = (detail: string): void => {
      this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1)
      trace.event('fault', `${kind} ${detail}`)
    }
    const pair = (): [SimNode, SimNode] | undefined => {
      if (nodes.length < 2) return undefined
      const a = prng.pick(nodes)
      const b = prng.pick(nodes.filter(n => n !== a))
      return [a, b]
    }
    const duration = (): number => prng.logUniform(200, 15_000)
    switch (kind) {
      case 'cut': {
        const detail = network.resetRandom()
        if (detail !== undefined) done(detail)
        return
      }
      case 'partition':
      case 'one-way-partition': {
        const p = pair()
        if (p === undefined) return
        const [a, b] = p
        const ms = duration()
        network.block(a.nodeId, b.nodeId)
        if (kind === 'partition') network.block(b.nodeId, a.nodeId)
        done(`${a.nodeId}${kind === 'partition' ? '<->' : '->'}${b.nodeId} for ${ms.toFixed(0)} ms`)
        this.#later(ms, () => {
          network.unblock(a.nodeId, b.nodeId, this.#init.deadChance)
          if (kind === 'partition') network.unblock(b.nodeId, a.nodeId, this.#init.deadChance)
          trace.event('heal', `${kind} ${a.nodeId} ${b.nodeId}`)
        })
        return
      }
      case 'isolate': {
        if (nodes.length === 0) return
        const a = prng.pick(nodes)
        const others = [...cluster.nodes, ...cluster.intruders].filter(n => n !== a)
        const ms = duration()
        for (const b of others) { network.block(a.nodeId, b.nodeId); network.block(b.nodeId, a.nodeId) }
        done(`${a.nodeId} for ${ms.toFixed(0)} ms`)
        this.#later(ms, () => {
          for (const b of others) { network.unblock(a.nodeId, b.nodeId, this.#init.deadChance); network.unblock(b.nodeId, a.nodeId, this.#init.deadChance) }
          trace.event('heal', `isolate ${a.nodeId}`)
        })
        return
      }
      case 'stall-reader': {
        if (nodes.length === 0) return
        const a = prng.pick(nodes)
        const ms = prng.logUniform(100, 8_000)
        network.stall(a.nodeId)
        done(`${a.nodeId} for ${ms.toFixed(0)} ms`)
        this.#later(ms, () => { network.unstall(a.nodeId); trace.event('heal', `stall ${a.nodeId}`) })
        return
      }
      case 'slow-link': {
        const p = pair()
        if (p === undefined) return
        const [a, b] = p
        const factor = prng.logUniform(5, 200)
        const ms = duration()
        network.slow(a.nodeId, b.nodeId, factor)
        done(`${a.nodeId}<->${b.nodeId} x${factor.toFixed(0)} for ${ms.toFixed(0)} ms`)
        this.#later(ms, () => { network.restore(a.nodeId, b.nodeId); trace.event('heal', `slow-link ${a.nodeId} ${b.nodeId}`) })
        return
      }
      case 'crash': {
        if (nodes.length === 0) return
        const a = prng.pick(nodes)
        const silent = prng.chance(0.3)
        const ms = prng.logUniform(50, 10_000)
        cluster.crash(a, silent)
        done(`${a.nodeId}${silent ? ' silent' : ''}, restart after ${ms.toFixed(0)} ms`)
        this.#later(ms, () => { if (cluster.members.has(a) && a.current === undefined) this.#init.restart(a) })
        return
      }
      case 'remove': {
        const listed = [...cluster.members].filter(n => n.current !== undefined)
        if (cluster.members.size <= 2 || listed.length === 0) return
        const a = prng.pick(listed)
        cluster.members.delete(a)
        cluster.broadcast(this.#init.spreadMs)
        // the removed node learns late, if at all: until then it connects as a non-member
        const stopAfter = prng.logUniform(100, 10_000)
        const stop = prng.chance(0.5)
        done(`${a.nodeId}${stop ? `, stopped after ${stopAfter.toFixed(0)} ms` : ', keeps running'}`)
        if (stop) this.#init.clock.setTimeout(() => { if (!cluster.members.has(a)) cluster.close(a) }, stopAfter)
        return
      }
      case 'add': {
        const out = cluster.nodes.filter(n => !cluster.members.has(n))
        let a: SimNode
        if (out.length > 0 && (cluster.nodes.length >= this.#init.maxNodes || prng.chance(0.7))) a = prng.pick(out)
        else if (cluster.nodes.length < this.#init.maxNodes) a = cluster.addNode()
        else return
        cluster.members.add(a)
        cluster.broadcast(this.#init.spreadMs)
        if (a.current === undefined) this.#init.restart(a)
        done(`${a.nodeId}${a.lives.length > 1 ? ' (again)' : ''}`)
        return
      }
      case 'address-change': {
        const listed = [...cluster.members].filter(n => n.current !== undefined)
        if (listed.length === 0) return
        const a = prng.pick(listed)
        const host = a.moveHost()
        a.current?.transport.rehost(host)
        cluster.broadcast(this.#init.spreadMs)
        done(`${a.nodeId} to ${host}`)
        return
      }
      case 'intruder': {
        this.#init.startIntruder()
        done(`x${cluster.intruders.length - 1}`)
        return
      }
      case 'slow-consumer': {
        if (live.length === 0) return
        const life = prng.pick(live)
        const mask = prng.int(1, 7)
        const ms = prng.logUniform(200, 10_000)
        this.#init.workload.stallConsumer(life, mask)
        done(`${life.id} lanes ${mask.toString(2)} for ${ms.toFixed(0)} ms`)
        this.#later(ms, () => { this.#init.workload.restoreConsumer(life) })
      }
    }
  }
}
