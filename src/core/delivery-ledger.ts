/**
 * A Dispatcher's account of the messages it wrote, by sequence number:
 * every written message ends up acknowledged (the receiving node took it),
 * lost (written on a connection that broke before it arrived), or is
 * unconfirmed until the receiver says which.
 *
 *     written = acknowledged + lost + unconfirmed
 *
 * Losses are known exactly once the receiver answers the hello of a new
 * stream with how many messages of this incarnation it received; a receiver
 * that does not know the incarnation (it restarted) cannot say, and then
 * everything unconfirmed counts as lost.
 */
export class DeliveryLedger {
  /** Sequence number of the next message written (= messages written). */
  written = 0
  /** Every message below this sequence number is acknowledged or lost. */
  #settled = 0
  acknowledged = 0
  lost = 0

  get unconfirmed (): number { return this.written - this.#settled }

  /**
   * The receiver's answer to a stream's hello: `received` messages of this
   * incarnation arrived (undefined: it does not know the incarnation).
   * Everything written before `firstSequence` is settled by it.
   */
  resume (firstSequence: number, received: number | undefined): void {
    const settled = this.#settled
    if (firstSequence <= settled) return
    const arrived = received === undefined ? settled : Math.min(Math.max(received, settled), firstSequence)
    this.acknowledged += arrived - settled
    this.lost += firstSequence - arrived
    this.#settled = firstSequence
  }

  /** The receiver has taken every message below `received`. */
  ack (received: number): void {
    const upTo = Math.min(received, this.written)
    if (upTo <= this.#settled) return
    this.acknowledged += upTo - this.#settled
    this.#settled = upTo
  }
}
