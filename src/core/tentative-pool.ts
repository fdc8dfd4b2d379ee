import { StreamClosedError } from './errors.ts'
import type { Logger } from './logger.ts'
import type { Receiver } from './receiver.ts'
import type { TentativeStats } from './peer-stats.ts'

/**
 * The tentative receivers: inbound streams from peers not (yet) in the
 * membership, one per peer identity, at most `maxReceivers`. Adding one more
 * closes the least recently created.
 */
export class TentativePool {
  readonly maxReceivers: number
  readonly #log: Logger
  /** Insertion order is creation order. */
  readonly #byIdentity = new Map<string, Receiver>()
  #evicted = 0

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
      receiver.adoptHeld(previous)
      previous.close(new StreamClosedError('replaced by a newer stream from the same peer'))
    }
    while (this.#byIdentity.size >= this.maxReceivers) {
      const [identity, oldest] = this.#byIdentity.entries().next().value as [string, Receiver]
      this.#byIdentity.delete(identity)
      this.#evicted++
      this.#log.info({ identity }, 'evicting the oldest tentative receiver')
      oldest.close(new StreamClosedError('evicted: too many tentative receivers'))
    }
    this.#byIdentity.set(receiver.identity, receiver)
  }

  /** Remove and return the tentative receiver of a peer, to promote it. */
  take (identity: string): Receiver | undefined {
    const receiver = this.#byIdentity.get(identity)
    if (receiver !== undefined) this.#byIdentity.delete(identity)
    return receiver
  }

  /** Forget a receiver that closed. */
  remove (receiver: Receiver): void {
    if (this.#byIdentity.get(receiver.identity) === receiver) this.#byIdentity.delete(receiver.identity)
  }

  stats (): TentativeStats[] {
    return [...this.#byIdentity.values()].map(r => r.tentativeStats())
  }

  closeAll (reason: Error): void {
    const all = [...this.#byIdentity.values()]
    this.#byIdentity.clear()
    for (const r of all) r.close(reason)
  }
}
