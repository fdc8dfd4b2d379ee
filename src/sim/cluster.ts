import { NetworkModule } from '../core/network-module.ts'
import { SimClock } from './sim-clock.ts'
import { SimTransport } from './sim-transport.ts'
import { accountingGap } from './invariants.ts'
import type FakeTimers from '@sinonjs/fake-timers'
import type { NetworkModuleInit } from '../core/config.ts'
import type { MemberSpec } from '../core/membership.ts'
import type { CheckedLife, Invariants } from './invariants.ts'
import type { Prng } from './prng.ts'
import type { SimNetwork } from './sim-network.ts'
import type { Trace } from './trace.ts'

/**
 * What one life of a sender handed to `send()` for one destination since
 * that destination was added to its membership (one Dispatcher): pushes
 * per lane, the lane's sequence number when it began, and what the
 * receiving side was then, to tell at the end whether nothing may be
 * missing.
 */
export interface SenderEpoch {
  readonly dest: string
  readonly startSeq: number[]
  readonly pushes: number[]
  /** The destination's life when the epoch began (undefined: it was down). */
  readonly receiverLife: Life | undefined
  /** How often that life had removed this sender from its membership then. */
  readonly receiverRemovals: number
}

/** A node of the simulation: an id and an identity kept across its lives, a host that may change. */
export class SimNode {
  readonly index: number
  readonly nodeId: string
  readonly identity: string
  /** A node that is never listed: it connects to members as a non-member does. */
  readonly intruder: boolean
  host: string
  #hosts = 0
  readonly lives: Life[] = []

  constructor (index: number, nodeId: string, intruder: boolean) {
    this.index = index
    this.nodeId = nodeId
    this.identity = `id-${nodeId}`
    this.intruder = intruder
    this.host = `${nodeId}.h0`
  }

  get current (): Life | undefined {
    const last = this.lives.at(-1)
    return last?.alive === true ? last : undefined
  }

  get address (): string { return `/sim/${this.host}/p2p/${this.identity}` }

  /** A new host name (the node moved). */
  moveHost (): string {
    this.host = `${this.nodeId}.h${++this.#hosts}`
    return this.host
  }
}

/** One life of a node: a NetworkModule on its own transport and clocks, from start to crash or close. */
export class Life implements CheckedLife {
  readonly node: SimNode
  readonly index: number
  readonly id: string
  readonly module: NetworkModule
  readonly transport: SimTransport
  /** The core's timers (and the transport's dials). */
  readonly coreClock: SimClock
  /** The workload's and the consumer's timers. */
  readonly appClock: SimClock
  readonly startedAtMs: number
  alive = true
  ended?: 'crashed' | 'closed'
  /** Per lane, the sequence number of the next message this life sends. */
  readonly seq: number[]
  readonly epochs = new Map<string, SenderEpoch>()
  readonly #receiverEpochs = new Map<string, number>()
  readonly removals = new Map<string, number>()

  constructor (node: SimNode, fake: FakeTimers.Clock, network: SimNetwork, prng: Prng, init: NetworkModuleInit) {
    this.node = node
    this.index = node.lives.length
    this.id = `${node.nodeId}#${this.index}`
    this.coreClock = new SimClock(fake, `${this.id} core`)
    this.appClock = new SimClock(fake, `${this.id} app`)
    this.startedAtMs = fake.now
    this.transport = new SimTransport({ network, node: node.nodeId, host: node.host, identity: node.identity, clock: this.coreClock })
    this.module = new NetworkModule({ transport: this.transport, clock: this.coreClock, random: prng.asFunction }, { ...init, nodeId: node.nodeId })
    this.seq = this.module.config.lanes.map(() => 0)
  }

  get nodeId (): string { return this.node.nodeId }
  isMember (nodeId: string): boolean { return this.module.isMember(nodeId) }
  receiverEpoch (nodeId: string): number { return this.#receiverEpochs.get(nodeId) ?? 0 }
  laneNumber (name: string): number { return this.module.laneNumber(name) }

  /** This life's membership is about to add `nodeId`: messages from it start a new epoch. */
  addedSender (nodeId: string): void {
    this.#receiverEpochs.set(nodeId, this.receiverEpoch(nodeId) + 1)
  }
}

export interface ClusterInit {
  fake: FakeTimers.Clock
  network: SimNetwork
  prng: Prng
  trace: Trace
  invariants: Invariants
  config: NetworkModuleInit
  /** Called for every life started (the workload attaches to it). */
  onStart: (life: Life) => void
  /** Called before a life crashes or closes (the workload detaches). */
  onEnd: (life: Life) => void
}

/**
 * The nodes and their lives, and the membership: the target every listed
 * node converges to (node id → address), applied to each live node with its
 * own delay, as a membership service would push it. Starts, crashes,
 * restarts and closes lives; keeps the sender epochs and receiver epochs
 * the invariants need, and checks the accounting of a destination just
 * before a membership change removes it (its stats go with it).
 */
export class Cluster {
  readonly nodes: SimNode[] = []
  readonly intruders: SimNode[] = []
  /** The target membership. */
  readonly members = new Set<SimNode>()
  readonly #init: ClusterInit
  readonly closing = new Set<Promise<void>>()

  constructor (init: ClusterInit) {
    this.#init = init
  }

  node (index: number): SimNode | undefined {
    return index >= 100 ? this.intruders[index - 100] : this.nodes[index]
  }

  addNode (): SimNode {
    const n = new SimNode(this.nodes.length, `n${this.nodes.length}`, false)
    this.nodes.push(n)
    return n
  }

  addIntruder (): SimNode {
    const n = new SimNode(100 + this.intruders.length, `x${this.intruders.length}`, true)
    this.intruders.push(n)
    return n
  }

  /** The target membership as specs. */
  specs (): MemberSpec[] {
    return [...this.members].map(n => ({ id: n.nodeId, address: n.address }))
  }

  live (): Life[] {
    const out: Life[] = []
    for (const n of this.nodes) {
      const l = n.current
      if (l !== undefined) out.push(l)
    }
    return out
  }

  liveIntruders (): Life[] {
    const out: Life[] = []
    for (const n of this.intruders) {
      const l = n.current
      if (l !== undefined) out.push(l)
    }
    return out
  }

  /** Start a new life of `node` with `specs` as its first membership. */
  async start (node: SimNode, specs: MemberSpec[]): Promise<Life> {
    const { fake, network, prng, trace, config } = this.#init
    // an earlier life still closing holds the host: this one starts at a new one
    if (network.lookup(node.host) !== undefined) node.moveHost()
    const life = new Life(node, fake, network, prng.fork(), config)
    node.lives.push(life)
    this.#instrument(life)
    life.module.addEventListener('peer-state', (e) => {
      const { nodeId, state } = (e as CustomEvent<{ nodeId: string, state: string }>).detail
      trace.event('state', `${life.id} -> ${nodeId} ${state}`)
    })
    trace.event('start', `${life.id} at ${node.host}`)
    await life.module.start()
    if (!life.alive) return life
    this.apply(life, specs)
    this.#init.onStart(life)
    return life
  }

  /** Every message a life's inbox takes in is checked as it arrives. */
  #instrument (life: Life): void {
    const inbox = life.module.inbox
    const push = inbox.push.bind(inbox)
    const invariants = this.#init.invariants
    inbox.push = (from, lane, payload, nowMs) => {
      invariants.arrived(life, from, lane, payload)
      push(from, lane, payload, nowMs)
    }
  }

  /** Apply `specs` to a live life now. */
  apply (life: Life, specs: MemberSpec[]): void {
    if (!life.alive) return
    const next = new Set(specs.map(s => s.id))
    const current = life.module.members()
    for (const id of current) {
      if (id === life.nodeId || next.has(id)) continue
      // its stats go with it: settle its accounting now
      this.checkAccounting(life, id)
      life.epochs.delete(id)
      life.removals.set(id, (life.removals.get(id) ?? 0) + 1)
    }
    for (const id of next) {
      if (!life.module.isMember(id)) life.addedSender(id)
    }
    const change = life.module.connect(specs)
    if (change.added.length + change.removed.length + change.changed.length > 0) {
      this.#init.trace.event('membership', `${life.id} +${change.added.join(',')} -${change.removed.join(',')} ~${change.changed.join(',')}`)
    }
  }

  /** The target membership changed: each listed live node applies it after its own delay of up to `spreadMs`. */
  broadcast (spreadMs: number): void {
    const { prng } = this.#init
    for (const node of this.members) {
      const life = node.current
      if (life === undefined) continue
      life.appClock.setTimeout(() => { this.apply(life, this.specs()) }, prng.float() * spreadMs)
    }
  }

  /** The epoch of `life` sending to `dest`, begun at its first message. */
  epoch (life: Life, dest: string): SenderEpoch {
    let e = life.epochs.get(dest)
    if (e === undefined) {
      const receiver = dest === life.nodeId ? life : this.nodes.find(n => n.nodeId === dest)?.current
      e = { dest, startSeq: [...life.seq], pushes: life.seq.map(() => 0), receiverLife: receiver, receiverRemovals: receiver?.removals.get(life.nodeId) ?? 0 }
      life.epochs.set(dest, e)
    }
    return e
  }

  /** sent = queued + acknowledged + dropped + lost + unconfirmed + discarded, for `life` → `dest` on every lane. */
  checkAccounting (life: Life, dest: string): void {
    const e = life.epochs.get(dest)
    if (e === undefined) return
    const stats = life.module.peerStats(dest)
    if (stats === undefined) return
    for (let lane = 0; lane < e.pushes.length; lane++) {
      const gap = accountingGap(e.pushes[lane], stats.lanes[lane])
      if (gap !== undefined) this.#init.invariants.fail('every message accounted for', `${life.id} -> ${dest} lane ${stats.lanes[lane].lane}: ${gap}`)
    }
  }

  /** The process of `node`'s current life dies: nothing it scheduled runs again; its peers see resets, or, `silent`, nothing. */
  crash (node: SimNode, silent: boolean): void {
    const life = node.current
    if (life === undefined) return
    this.#init.onEnd(life)
    life.alive = false
    life.ended = 'crashed'
    life.coreClock.freeze()
    life.appClock.freeze()
    life.transport.crash(silent)
    this.#init.trace.event('crash', `${life.id}${silent ? ' silent' : ''}`)
  }

  /** Close `node`'s current life gracefully; close() must leave none of its timers behind. */
  close (node: SimNode): void {
    const life = node.current
    if (life === undefined) return
    this.#init.onEnd(life)
    life.alive = false
    life.ended = 'closed'
    life.appClock.clearAll()
    this.#init.trace.event('close', life.id)
    const closing = life.module.close().then(() => {
      if (life.coreClock.pending > 0) {
        this.#init.invariants.fail('close() leaves no timer', `${life.id} has ${life.coreClock.pending} timers left after close()`)
      }
      this.#init.trace.event('closed', life.id)
    }, (err: unknown) => {
      this.#init.invariants.fail('close() succeeds', `${life.id}: ${String(err)}`)
    }).finally(() => { this.closing.delete(closing) })
    this.closing.add(closing)
  }
}
