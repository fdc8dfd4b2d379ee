import { systemClock } from './clock.ts'
import { AbortError } from './errors.ts'
import { ConsumerPace } from './inbox-credit.ts'
import { ALL_LANES } from './lanes.ts'
import { LaneScheduler } from './lane-scheduler.ts'
import type { Clock } from './clock.ts'
import type { SchedulerLane } from './lane-scheduler.ts'

/** A message received from a member. */
export interface ReceivedMessage {
  /** Node id of the sender, as authenticated by the transport. */
  readonly from: string
  readonly payload: Uint8Array
  /** Name of the lane it was sent on. */
  readonly lane: string
}

export interface InboxInit {
  /** Messages held per lane before producers are told the lane is full. */
  capacity: number
  /** Payload bytes held per lane before producers are told the lane is full. */
  maxBytes: number
  /** The lanes (name, priority and weight, for taking from several lanes at once; the window bounds the credit). */
  lanes: ReadonlyArray<SchedulerLane & { name: string, windowMessages: number }>
  /** Quantum of the round robin among weighted lanes when taking from several. */
  quantumBytes?: number
  /** A consumer behind by more than this paces its lane (inbox-credit.ts). */
  targetMs: number
  /** The least credit of a paced lane. */
  minCredit: number
  clock?: Clock
}

/** A receiver waiting for a lane's credit to grow; it may raise `above` while it waits. */
export interface CreditWaiter {
  /** Called once the lane's credit is above this. */
  above: number
  callback: () => void
}

class InboxLane {
  readonly name: string
  items: ReceivedMessage[] = []
  /** When each item arrived (clock ms), alongside `items`. */
  times: number[] = []
  head = 0
  bytes = 0
  spaceWaiters: Array<() => void> = []
  creditWaiters: CreditWaiter[] = []
  readonly pace: ConsumerPace

  constructor (name: string, pace: ConsumerPace) {
    this.name = name
    this.pace = pace
  }

  get length (): number { return this.items.length - this.head }

  shift (): ReceivedMessage {
    const m = this.items[this.head++]
    this.bytes -= m.payload.byteLength
    if (this.head === this.items.length) {
      this.items = []
      this.times = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.times = this.times.slice(this.head)
      this.head = 0
    }
    return m
  }
}

interface DataWaiter {
  mask: number
  settle: (more: boolean) => void
}

/**
 * The module's output: received messages, one FIFO per lane (so FIFO per
 * sender and lane), waiting for consumers. It never drops. Receivers push
 * and advertise each lane's `credit(lane)` to their senders (how many more
 * messages each may write), which follows how fast the lane's consumer
 * takes (inbox-credit.ts); a receiver whose credit ran low registers with
 * `whenCredit(lane)` and is called back when it has grown. So a lane holds
 * at most its capacity (plus what one credit let each sender write), what
 * a slow consumer reads is about the target delay old, and the other lanes
 * flow on. The self path checks `full(lane)` and waits with `whenSpace`.
 *
 * A consumer takes from a set of lanes (a mask); from several, strict lanes
 * first and the others by weight, as the senders schedule them.
 */
export class Inbox {
  readonly capacity: number
  readonly maxBytes: number
  readonly #lanes: InboxLane[]
  readonly #scheduler: LaneScheduler
  readonly #clock: Clock
  #length = 0
  #bytes = 0
  #closed = false
  #delivered = 0
  #dataWaiters: DataWaiter[] = []
  /** The lanes `#pick` chooses among now. */
  #pickMask = 0

  constructor (init: InboxInit) {
    this.capacity = init.capacity
    this.maxBytes = init.maxBytes
    this.#clock = init.clock ?? systemClock
    this.#lanes = init.lanes.map(l => new InboxLane(l.name, new ConsumerPace({
      windowMessages: l.windowMessages,
      capacity: init.capacity,
      maxBytes: init.maxBytes,
      targetMs: init.targetMs,
      minCredit: init.minCredit
    })))
    this.#scheduler = new LaneScheduler(init.lanes, init.quantumBytes ?? 16 * 1024, 256 * 1024)
  }

  /** Messages held, all lanes. */
  get length (): number { return this.#length }
  get byteLength (): number { return this.#bytes }
  get closed (): boolean { return this.#closed }
  /** Messages handed to consumers since creation. */
  get delivered (): number { return this.#delivered }
  get laneCount (): number { return this.#lanes.length }

  laneLength (lane: number): number { return this.#lanes[lane].length }
  laneBytes (lane: number): number { return this.#lanes[lane].bytes }

  /** True when producers should stop acknowledging `lane` until `whenSpace(lane)` calls back. */
  full (lane: number): boolean {
    const l = this.#lanes[lane]
    return l.length >= this.capacity || l.bytes >= this.maxBytes
  }

  push (from: string, lane: number, payload: Uint8Array, nowMs = this.#clock.now()): void {
    const l = this.#lanes[lane]
    l.items.push({ from, payload, lane: l.name })
    l.times.push(nowMs)
    l.bytes += payload.byteLength
    this.#length++
    this.#bytes += payload.byteLength
    if (this.#dataWaiters.length > 0) this.#wakeConsumers(1 << lane)
  }

  /**
   * How many more messages a sender may write on `lane` now: the pace of
   * the lane's consumer (inbox-credit.ts), within the lane's capacity.
   */
  credit (lane: number, nowMs = this.#clock.now()): number {
    const l = this.#lanes[lane]
    const backlog = l.length
    l.pace.update(nowMs, backlog, backlog > 0 ? nowMs - l.times[l.head] : 0)
    return l.pace.credit(backlog, l.bytes)
  }

  /** The pace of `lane` (for status and tests). */
  pace (lane: number): ConsumerPace { return this.#lanes[lane].pace }

  /** Call `waiter.callback` once, when the credit of `lane` is above `waiter.above` (or the inbox closes). */
  whenCredit (lane: number, waiter: CreditWaiter): void {
    this.#lanes[lane].creditWaiters.push(waiter)
  }

  /** The most credit `lane` can give: its window, within its capacity. */
  maxCredit (lane: number): number {
    const c = this.#lanes[lane].pace.config
    return Math.min(c.windowMessages, c.capacity)
  }

  /** Call `callback` once, when `lane` has drained to half its limits (or the inbox closes). */
  whenSpace (lane: number, callback: () => void): void {
    this.#lanes[lane].spaceWaiters.push(callback)
  }

  #hasAny (mask: number): boolean {
    const lanes = this.#lanes
    for (let i = 0; i < lanes.length; i++) {
      if ((mask & (1 << i)) !== 0 && lanes[i].length > 0) return true
    }
    return false
  }

  /** The next lane to take from among `mask`, or -1. */
  #pick (mask: number): number {
    const lanes = this.#lanes
    if ((mask & (mask - 1)) === 0) {
      const lane = 31 - Math.clz32(mask)
      return lane < lanes.length && lanes[lane].length > 0 ? lane : -1
    }
    this.#pickMask = mask
    return this.#scheduler.pick(this.#headSize)
  }

  /** The scheduler's view of a lane among `#pickMask`: its head's size, or -1. One function for every pick: no closure per message. */
  readonly #headSize = (lane: number): number => {
    if ((this.#pickMask & (1 << lane)) === 0) return -1
    const l = this.#lanes[lane]
    return l.length > 0 ? l.items[l.head].payload.byteLength : -1
  }

  /** Take the head of `lane`; the caller then calls `#afterTaking` for it (once for a whole batch). */
  #takeFrom (lane: number): ReceivedMessage {
    const l = this.#lanes[lane]
    const m = l.shift()
    this.#scheduler.charge(lane, m.payload.byteLength)
    this.#length--
    this.#bytes -= m.payload.byteLength
    this.#delivered++
    l.pace.onTaken(1, l.length)
    return m
  }

  /** Messages were taken from `lane`: call back the receivers whose credit has grown, and the producers waiting for space. */
  #afterTaking (lane: number): void {
    const l = this.#lanes[lane]
    if (l.creditWaiters.length > 0) this.#wakeCreditWaiters(lane, l)
    if (l.spaceWaiters.length > 0 && l.length <= this.capacity / 2 && l.bytes <= this.maxBytes / 2) {
      const waiters = l.spaceWaiters
      l.spaceWaiters = []
      for (const w of waiters) w()
    }
  }

  #wakeCreditWaiters (lane: number, l: InboxLane): void {
    const credit = this.credit(lane)
    const waiters = l.creditWaiters
    let due = false
    for (let i = 0; i < waiters.length && !due; i++) due = credit > waiters[i].above
    if (!due) return
    // a callback may register again: on the fresh array
    l.creditWaiters = []
    for (let i = 0; i < waiters.length; i++) {
      const w = waiters[i]
      if (credit > w.above) w.callback()
      else l.creditWaiters.push(w)
    }
  }

  /**
   * Remove and return up to `maxMessages` messages of the lanes in `mask`
   * (at least one if any, then up to `maxBytes` of payload).
   */
  take (maxMessages: number, maxBytes = Number.POSITIVE_INFINITY, mask = ALL_LANES): ReceivedMessage[] {
    const out: ReceivedMessage[] = []
    let bytes = 0
    // lanes taken from: their waiters are called once the batch is taken (a credit check reads the clock)
    let taken = 0
    while (out.length < maxMessages) {
      const lane = this.#pick(mask)
      if (lane < 0) break
      const l = this.#lanes[lane]
      const size = l.items[l.head].payload.byteLength
      if (out.length > 0 && bytes + size > maxBytes) break
      out.push(this.#takeFrom(lane))
      taken |= 1 << lane
      bytes += size
    }
    for (let lane = 0; taken !== 0; lane++, taken >>>= 1) {
      if ((taken & 1) !== 0) this.#afterTaking(lane)
    }
    return out
  }

  /** Remove and return the next message of the lanes in `mask`, if any. */
  shift (mask = ALL_LANES): ReceivedMessage | undefined {
    const lane = this.#pick(mask)
    if (lane < 0) return undefined
    const m = this.#takeFrom(lane)
    this.#afterTaking(lane)
    return m
  }

  #wakeConsumers (lanes: number): void {
    const waiters = this.#dataWaiters
    let kept = 0
    for (let i = 0; i < waiters.length; i++) {
      const w = waiters[i]
      if ((w.mask & lanes) !== 0) w.settle(true)
      else waiters[kept++] = w
    }
    waiters.length = kept
  }

  /**
   * Resolves true when there is a message on the lanes in `mask` to take,
   * false when the inbox is closed and has none. Rejects with `AbortError`
   * when `signal` aborts.
   */
  async wait (signal?: AbortSignal, mask = ALL_LANES): Promise<boolean> {
    if (this.#hasAny(mask)) return true
    if (this.#closed) return false
    signal?.throwIfAborted()
    return await new Promise<boolean>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#dataWaiters.indexOf(waiter)
        if (i >= 0) this.#dataWaiters.splice(i, 1)
        reject(new AbortError())
      }
      const waiter: DataWaiter = {
        mask,
        settle: (more: boolean): void => {
          signal?.removeEventListener('abort', onAbort)
          resolve(more)
        }
      }
      this.#dataWaiters.push(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Messages one by one until the inbox closes or `signal` aborts. */
  async * messages (signal?: AbortSignal, mask = ALL_LANES): AsyncGenerator<ReceivedMessage, void, undefined> {
    while (await this.wait(signal, mask)) {
      let m: ReceivedMessage | undefined
      while ((m = this.shift(mask)) !== undefined) yield m
    }
  }

  /** End consumers once they have taken what is left; release waiting producers. Idempotent. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    const waiters = this.#dataWaiters
    this.#dataWaiters = []
    for (const w of waiters) w.settle(this.#hasAny(w.mask))
    for (const l of this.#lanes) {
      const producers = l.spaceWaiters
      l.spaceWaiters = []
      for (const p of producers) p()
      const receivers = l.creditWaiters
      l.creditWaiters = []
      for (const r of receivers) r.callback()
    }
  }
}
