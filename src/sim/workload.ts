import { ALL_LANES } from '../core/lanes.ts'
import { encodePayload } from './payload.ts'
import type { Cluster, Life } from './cluster.ts'
import type { Invariants } from './invariants.ts'
import type { Prng } from './prng.ts'
import type { Trace } from './trace.ts'

export interface WorkloadInit {
  cluster: Cluster
  invariants: Invariants
  trace: Trace
  /** Scales every send rate (per seed). */
  load: number
  chunkBytes: number
  maxFrameBytes: number
  queueCapacity: number
}

/** What a consumer does now: how often it reads, how much at a time, which lanes. */
interface ConsumerPace {
  periodMs: number
  batch: number
  mask: number
}

/**
 * The seeded workload of one life: per lane a sender at its own random rate
 * (votes on `control`, small and sometimes multi-chunk messages on
 * `consensus`, large ones on `bulk`, now and then a burst larger than the
 * queue), to one member or to all; and a consumer that reads its inbox at
 * a random pace, sometimes not some lanes at all (a slow consumer), so
 * that credit runs out, queues overflow and windows fill. Every timer is on
 * the life's app clock, which a crash freezes.
 */
export class Workload {
  readonly #init: WorkloadInit
  readonly #paces = new Map<Life, ConsumerPace>()
  #sending = true
  sent = 0
  taken = 0

  constructor (init: WorkloadInit) {
    this.#init = init
  }

  attach (life: Life, prng: Prng): void {
    const lanes = life.module.config.lanes.length
    for (let lane = 0; lane < lanes; lane++) {
      const base = lane === 0 ? prng.logUniform(2, 60) : lane === 1 ? prng.logUniform(5, 200) : prng.logUniform(0.5, 15)
      this.#sendLoop(life, prng, lane, base * this.#init.load)
    }
    const pace = { periodMs: prng.logUniform(1, 60), batch: prng.int(1, 64), mask: ALL_LANES }
    this.#paces.set(life, pace)
    this.#consume(life, pace)
  }

  detach (life: Life): void {
    this.#paces.delete(life)
  }

  /** No more sends from now on; consumers read everything, fast. */
  drain (): void {
    this.#sending = false
    for (const pace of this.#paces.values()) {
      pace.periodMs = 5
      pace.batch = Number.MAX_SAFE_INTEGER
      pace.mask = ALL_LANES
    }
  }

  /** The consumer of `life` reads none of the lanes in `mask` until `restore()`. */
  stallConsumer (life: Life, mask: number): void {
    const pace = this.#paces.get(life)
    if (pace !== undefined) pace.mask &= ~mask
  }

  restoreConsumer (life: Life): void {
    const pace = this.#paces.get(life)
    if (pace !== undefined) pace.mask = ALL_LANES
  }

  #size (prng: Prng, lane: number): number {
    const { chunkBytes, maxFrameBytes } = this.#init
    if (lane === 0) return prng.int(16, 300)
    if (lane === 1) return prng.chance(0.9) ? prng.int(16, 2_000) : prng.int(2_000, Math.min(maxFrameBytes, 3 * chunkBytes))
    return Math.floor(prng.logUniform(1_000, Math.min(maxFrameBytes, 128 * 1024)))
  }

  #sendLoop (life: Life, prng: Prng, lane: number, perSecond: number): void {
    const tick = (): void => {
      if (!life.alive || !this.#sending) return
      const burst = prng.chance(0.01) ? prng.int(10, 3 * this.#init.queueCapacity) : 1
      for (let i = 0; i < burst; i++) this.#send(life, prng, lane)
      life.appClock.setTimeout(tick, prng.exp(1000 / perSecond))
    }
    life.appClock.setTimeout(tick, prng.exp(1000 / perSecond))
  }

  #send (life: Life, prng: Prng, lane: number): void {
    const members = life.module.members()
    const dests = prng.chance(0.4) ? members : [prng.pick(members)]
    const payload = encodePayload({ sender: life.node.index, life: life.index, lane, seq: life.seq[lane] }, this.#size(prng, lane))
    const epochs = dests.map(d => this.#init.cluster.epoch(life, d))
    life.seq[lane]++
    const outcomes = life.module.send(dests, payload, lane)
    for (let i = 0; i < dests.length; i++) {
      if (outcomes[i] === 'unknown-destination') {
        this.#init.invariants.fail('members are destinations', `${life.id}: ${dests[i]} is in members() but send() says unknown`)
        continue
      }
      epochs[i].pushes[lane]++
      this.sent++
    }
  }

  #consume (life: Life, pace: ConsumerPace): void {
    const { invariants, trace } = this.#init
    const tick = (): void => {
      if (!life.alive) return
      const got = life.module.inbox.take(pace.batch, Number.POSITIVE_INFINITY, pace.mask)
      if (got.length > 0) {
        for (const m of got) invariants.taken(life, m.from, m.lane, m.payload)
        this.taken += got.length
        trace.event('take', `${life.id} ${got.length} ${got[0].from}:${got[0].lane}`)
      }
      life.appClock.setTimeout(tick, pace.periodMs)
    }
    life.appClock.setTimeout(tick, pace.periodMs)
  }
}
