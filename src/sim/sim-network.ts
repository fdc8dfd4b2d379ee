import { Pipe, SimChannel } from './sim-channel.ts'
import type { Bytes } from '../core/transport.ts'
import type { Prng } from './prng.ts'
import type { SimClock } from './sim-clock.ts'
import type { Trace } from './trace.ts'

/** How one pair of nodes is connected (both directions alike). */
export interface LinkProfile {
  latencyMs: number
  /** Bandwidth. */
  bytesPerMs: number
  /** Extra random delay of a packet, at most (packets never overtake each other). */
  jitterMs: number
}

export interface SimNetworkInit {
  /** The network's own view of the fake clock: every packet is a timer on it. */
  clock: SimClock
  prng: Prng
  trace: Trace
  /** Unread bytes per channel before `send()` returns false. */
  windowBytes: number
  /** Unread bytes per channel a sender that heeds `send()`'s false may reach at most; past it is a violation. */
  writeBufferLimit: number
  onViolation: (invariant: string, detail: string) => void
}

/** Registered by SimTransport: how the network reaches a listening host. */
export interface SimHost {
  readonly node: string
  readonly localIdentity: string
  accept: (channel: SimChannel) => void
}

function pairKey (a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`
}

/**
 * The simulated network: hosts by name, a link profile per pair of nodes
 * (drawn from the seed on first use), one-way partitions (a two-way one is
 * two), stalled hosts (that read nothing), and every open channel. Faults
 * are applied through its methods; everything it does happens on its clock.
 */
export class SimNetwork {
  readonly clock: SimClock
  readonly prng: Prng
  readonly trace: Trace
  readonly windowBytes: number
  readonly #writeBufferLimit: number
  readonly #onViolation: (invariant: string, detail: string) => void
  readonly #hosts = new Map<string, SimHost>()
  readonly #profiles = new Map<string, LinkProfile>()
  readonly #slowed = new Map<string, LinkProfile>()
  /** Directed node pairs `a>b` partitioned, with how many partitions cover them. */
  readonly #blocked = new Map<string, number>()
  readonly #stalled = new Map<string, number>()
  readonly #channels = new Set<SimChannel>()
  #nextConnection = 1
  bytesCarried = 0
  maxUnreadBytes = 0

  constructor (init: SimNetworkInit) {
    this.clock = init.clock
    this.prng = init.prng
    this.trace = init.trace
    this.windowBytes = init.windowBytes
    this.#writeBufferLimit = init.writeBufferLimit
    this.#onViolation = init.onViolation
  }

  get openChannels (): number { return this.#channels.size }

  listen (host: string, h: SimHost): void {
    if (this.#hosts.has(host)) throw new Error(`sim host "${host}" is already listening`)
    this.#hosts.set(host, h)
  }

  unlisten (host: string, h: SimHost): void {
    if (this.#hosts.get(host) === h) this.#hosts.delete(host)
  }

  lookup (host: string): SimHost | undefined {
    return this.#hosts.get(host)
  }

  profile (a: string, b: string): LinkProfile {
    const key = pairKey(a, b)
    const slowed = this.#slowed.get(key)
    if (slowed !== undefined) return slowed
    let p = this.#profiles.get(key)
    if (p === undefined) {
      const latencyMs = this.prng.logUniform(0.05, 40)
      p = { latencyMs, bytesPerMs: this.prng.logUniform(500, 50_000), jitterMs: latencyMs * this.prng.float() * 0.5 }
      this.#profiles.set(key, p)
    }
    return p
  }

  /** A slow link between two nodes until `restore()`: the latency `factor` times longer, the bandwidth `factor` times less. */
  slow (a: string, b: string, factor: number): void {
    const p = this.profile(a, b)
    this.#slowed.set(pairKey(a, b), { latencyMs: p.latencyMs * factor, bytesPerMs: p.bytesPerMs / factor, jitterMs: p.jitterMs * factor })
  }

  restore (a: string, b: string): void {
    this.#slowed.delete(pairKey(a, b))
  }

  isBlocked (from: string, to: string): boolean {
    return this.#blocked.has(`${from}>${to}`)
  }

  /** Nothing from `from` reaches `to` until `unblock()`: packets in flight are held. */
  block (from: string, to: string): void {
    const key = `${from}>${to}`
    const n = this.#blocked.get(key) ?? 0
    this.#blocked.set(key, n + 1)
    if (n > 0) return
    for (const c of this.#channels) {
      if (c.out.fromNode === from && c.out.toNode === to) c.out.block()
    }
  }

  /** End a partition of `from` → `to`; each held direction survives, or with `deadChance` does not (then it is silent for good). */
  unblock (from: string, to: string, deadChance: number): void {
    const key = `${from}>${to}`
    const n = this.#blocked.get(key) ?? 0
    if (n > 1) {
      this.#blocked.set(key, n - 1)
      return
    }
    this.#blocked.delete(key)
    for (const c of [...this.#channels]) {
      if (c.out.fromNode === from && c.out.toNode === to) c.out.unblock(this.prng.chance(deadChance))
    }
  }

  isStalled (node: string): boolean {
    return this.#stalled.has(node)
  }

  /** `node` reads nothing (a stalled process) until `unstall()`: its senders' windows fill. */
  stall (node: string): void {
    this.#stalled.set(node, (this.#stalled.get(node) ?? 0) + 1)
  }

  unstall (node: string): void {
    const n = this.#stalled.get(node) ?? 0
    if (n > 1) {
      this.#stalled.set(node, n - 1)
      return
    }
    this.#stalled.delete(node)
    for (const c of [...this.#channels]) {
      if (c.node === node) c.deliver()
    }
  }

  /** Reset a random open connection (both ends learn at once); false if there is none. */
  resetRandom (): string | undefined {
    const open = [...this.#channels]
    if (open.length === 0) return undefined
    const c = this.prng.pick(open)
    const detail = `connection ${c.connectionId} ${c.node}<->${c.peer.node}`
    c.peer.reset()
    c.reset()
    return detail
  }

  /** A new connection between two nodes: [dialer's end, listener's end]. */
  connect (dialer: { node: string, localIdentity: string }, listener: { node: string, localIdentity: string }): [SimChannel, SimChannel] {
    const id = this.#nextConnection++
    const mine = new SimChannel(this, id, dialer.node, listener.localIdentity)
    const theirs = new SimChannel(this, id, listener.node, dialer.localIdentity)
    mine.peer = theirs
    theirs.peer = mine
    mine.out = new Pipe(this, dialer.node, listener.node, theirs, this.isBlocked(dialer.node, listener.node))
    theirs.out = new Pipe(this, listener.node, dialer.node, mine, this.isBlocked(listener.node, dialer.node))
    this.#channels.add(mine)
    this.#channels.add(theirs)
    this.trace.event('connect', `${id} ${dialer.node}->${listener.node}`)
    return [mine, theirs]
  }

  /** A channel sent `data`: it goes out at random write boundaries, as a TCP stream's segments would. */
  sent (channel: SimChannel, data: Bytes): void {
    const n = data.byteLength
    this.bytesCarried += n
    if (channel.unreadBytes > this.maxUnreadBytes) this.maxUnreadBytes = channel.unreadBytes
    if (channel.unreadBytes > this.#writeBufferLimit) {
      this.#onViolation('transport write buffer bounded', `${channel.node} -> ${channel.peer.node} has ${channel.unreadBytes} bytes unread, more than ${this.#writeBufferLimit}: send() said false and the sender went on`)
    }
    const out = channel.out
    const pieces = n < 2 || this.prng.chance(0.5) ? 1 : this.prng.int(2, Math.min(4, n))
    if (pieces === 1) {
      out.push(0, data, n)
      return
    }
    const cuts: number[] = []
    for (let i = 1; i < pieces; i++) cuts.push(this.prng.int(1, n - 1))
    cuts.sort((a, b) => a - b)
    let start = 0
    for (const end of [...cuts, n]) {
      if (end > start) out.push(0, 'sublist' in data ? data.sublist(start, end) : data.subarray(start, end), end - start)
      start = end
    }
  }

  /** An end closed; once both have, the connection is gone and its pipes are cleared. */
  closed (channel: SimChannel): void {
    this.#channels.delete(channel)
    if (channel.peer.closed) {
      channel.out.clear()
      channel.peer.out.clear()
      this.trace.event('disconnect', `${channel.connectionId}`)
    }
  }
}
