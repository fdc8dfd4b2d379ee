import { StreamClosedError } from './errors.ts'
import type { Logger } from './logger.ts'
import type { Receiver } from './receiver.ts'
import type { TentativeLosses, TentativeStats } from './peer-stats.ts'

/**
 * The tentative receivers: inbound streams from peers not (yet) in the
 * membership, one per peer identity, at most `maxReceivers`. Adding one more
 * closes the least recently created.
 *
 * Counts what tentative receivers lost over the module's life, those that
 * left the pool included: held messages dropped to stay within a receiver's
 * bounds, and held messages discarded with a receiver that was evicted or
 * whose stream closed before its peer became a member.
 */
export class TentativePool {
  readonly maxReceivers: number
  readonly #log: Logger
  /** Insertion order is creation order. */
  readonly #byIdentity = new Map<string, Receiver>()
  #evicted = 0
  /** Losses of receivers no longer in the pool. */
  readonly #gone: TentativeLosses = { droppedMessages: 0, evictedMessages: 0, closedMessages: 0 }

  constructor (maxReceivers: number, logger: Logger) {
    this.maxReceivers = maxReceivers
    this.#log = logger
  }

  get size (): number { return this.#byIdentity.size }
  get evicted (): number { return this.#evicted }

  /**
   * Keep a new tentative receiver. A previous one of the same peer hands its
   * held messages over and is closed; past the cap the oldest is evicted.
   */
  add (receiver: Receiver): void {
    const previous = this.#byIdentity.get(receiver.identity)
    if (previous !== undefined) {
      this.#byIdentity.delete(receiver.identity)
      this.#retire(previous, 'adopted')
      receiver.adoptHeld(previous)
      previous.close(new StreamClosedError('replaced by a newer stream from the same peer'))
    }
    while (this.#byIdentity.size >= this.maxReceivers) {
      const [identity, oldest] = this.#byIdentity.entries().next().value as [string, Receiver]
      this.#byIdentity.delete(identity)
      this.#evicted++
      this.#retire(oldest, 'evicted')
      this.#log.info({ identity }, 'evicting the oldest tentative receiver')
      oldest.close(new StreamClosedError('evicted: too many tentative receivers'))
    }
    this.#byIdentity.set(receiver.identity, receiver)
  }

  /** Remove and return the tentative receiver of a peer, to promote it (its held messages are delivered). */
  take (identity: string): Receiver | undefined {
    const receiver = this.#byIdentity.get(identity)
    if (receiver !== undefined) {
      this.#byIdentity.delete(identity)
      this.#retire(receiver, 'promoted')
    }
    return receiver
  }

  /** Forget a receiver that closed; its held messages are lost. */
  remove (receiver: Receiver): void {
    if (this.#byIdentity.get(receiver.identity) !== receiver) return
    this.#byIdentity.delete(receiver.identity)
    this.#retire(receiver, 'closed')
  }

  stats (): TentativeStats[] {
    return [...this.#byIdentity.values()].map(r => r.tentativeStats())
  }

  /** What tentative receivers lost so far, those in the pool now included. */
  losses (): TentativeLosses {
    const out = { ...this.#gone }
    for (const r of this.#byIdentity.values()) out.droppedMessages += r.tentativeStats().droppedMessages
    return out
  }

  closeAll (reason: Error): void {
    const all = [...this.#byIdentity.values()]
    this.#byIdentity.clear()
    for (const r of all) {
      this.#retire(r, 'closed')
      r.close(reason)
    }
  }

  /**
   * Count what a receiver leaving the pool lost, before it hands its held
   * messages on: `adopted` and `promoted` pass them on, the others lose them.
   */
  #retire (receiver: Receiver, how: 'adopted' | 'promoted' | 'evicted' | 'closed'): void {
    const s = receiver.tentativeStats()
    this.#gone.droppedMessages += s.droppedMessages
    if (how === 'evicted') this.#gone.evictedMessages += s.heldMessages
    else if (how === 'closed') this.#gone.closedMessages += s.heldMessages
  }
}
