import { DropOldestQueue } from './drop-oldest-queue.ts'
import { TentativeHoldReleasedError } from './errors.ts'

export interface TentativeHoldBounds {
  /** Most recent messages kept; older ones are dropped to make room. */
  maxMessages: number
  /** Payload bytes kept; older messages are dropped to make room. */
  maxBytes: number
}

/** Where held messages go on promotion: the inbox. */
export interface HeldMessageSink {
  push: (from: string, lane: number, payload: Uint8Array) => void
}

interface HeldMessage {
  readonly lane: number
  readonly payload: Uint8Array
  readonly byteLength: number
}

/**
 * What a tentative receiver (one whose peer is not, or not yet, in the
 * membership) keeps while it waits to be promoted: the most recent whole
 * messages, bounded in count and in bytes, oldest dropped first (and
 * counted). It holds until released, once, by one of `deliverTo()` (the
 * peer became a member), `handOver()` (a newer stream of the same peer
 * takes over) or `discard()` (the stream closed); after that it is empty
 * and takes nothing more.
 */
export class TentativeHold {
  readonly #queue: DropOldestQueue<HeldMessage>
  #released = false

  /** Throws `InvalidConfigError` for bounds that are not positive. */
  constructor (bounds: TentativeHoldBounds) {
    this.#queue = new DropOldestQueue(bounds.maxMessages, bounds.maxBytes)
  }

  get heldMessages (): number { return this.#queue.length }
  get heldBytes (): number { return this.#queue.byteLength }
  /** Older messages dropped to stay within the bounds (those handed over from an older hold included). */
  get droppedMessages (): number { return this.#queue.dropped }
  get released (): boolean { return this.#released }

  /**
   * Keep a whole message of `lane`. A `view` into a transport chunk is
   * copied: it would pin the whole chunk for as long as it is held.
   * Throws `TentativeHoldReleasedError` once released.
   */
  hold (lane: number, payload: Uint8Array, view: boolean): void {
    this.#assertHolding('hold a message')
    this.#queue.push({ lane, payload: view ? payload.slice() : payload, byteLength: payload.byteLength })
  }

  /**
   * Move every held message, in order, to the end of `newer` (within its
   * bounds) and release this hold. Throws `TentativeHoldReleasedError` when
   * either is released.
   */
  handOver (newer: TentativeHold): void {
    this.#assertHolding('hand over')
    newer.#assertHolding('take over held messages')
    this.#released = true
    const queue = this.#queue
    let m: HeldMessage | undefined
    while ((m = queue.shift()) !== undefined) newer.#queue.push(m)
  }

  /**
   * Push every held message, in order, to `sink` as `from`'s and release
   * this hold; returns how many. Throws `TentativeHoldReleasedError` when
   * already released.
   */
  deliverTo (sink: HeldMessageSink, from: string): number {
    this.#assertHolding('deliver')
    this.#released = true
    const queue = this.#queue
    const delivered = queue.length
    let m: HeldMessage | undefined
    while ((m = queue.shift()) !== undefined) sink.push(from, m.lane, m.payload)
    return delivered
  }

  /** Let go of what is held, undelivered; returns how many messages. Idempotent: 0 once released. */
  discard (): number {
    if (this.#released) return 0
    this.#released = true
    return this.#queue.clear()
  }

  #assertHolding (what: string): void {
    if (this.#released) throw new TentativeHoldReleasedError(`cannot ${what}: the tentative hold was already released`)
  }
}
