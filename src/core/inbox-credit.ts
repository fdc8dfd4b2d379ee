/**
 * How much a lane of the inbox lets its senders write: the credit that the
 * receivers advertise in their acks (link protocol 3).
 *
 * A lane starts paced at `minCredit` and doubles its budget every time the
 * consumer empties it (a slow start, as TCP's, by round trips): a consumer
 * that keeps up gets the full window within a few round trips (as much as
 * the lane's capacity leaves room for) and keeps it while it keeps up. A
 * consumer that falls
 * behind — its oldest waiting message older than the target delay — paces
 * the lane: the credit then keeps the backlog near what the consumer takes
 * in the target delay (at least `minCredit`), so what it reads next is at
 * most about that old, and the senders drop their oldest at their queues
 * instead of stacking windows of old messages in front of it. Every
 * interval (the target delay) the pace follows the rate the consumer took
 * at; when the consumer emptied the lane meanwhile it is faster than that,
 * so the budget doubles, and once it reaches the window the lane is no
 * longer paced.
 *
 * Pure: the caller passes the time. One per inbox lane (shared by all its
 * senders; each sender gets the lane's credit).
 */
export interface PaceConfig {
  /** The largest credit: the lane's window in messages. */
  windowMessages: number
  /** Messages and payload bytes the lane holds at most. */
  capacity: number
  maxBytes: number
  /** The delay a consumer that falls behind should see at most, about. */
  targetMs: number
  /** The credit a paced lane keeps at least, whatever the consumer's rate. */
  minCredit: number
}

export class ConsumerPace {
  readonly config: PaceConfig
  /** The credit follows the consumer's rate (from the start, and whenever it falls behind). */
  paced = true
  /** Backlog a paced lane aims for (messages). */
  budget: number
  /** Messages per second the consumer took in the last interval. */
  rate = 0
  #intervalStartMs = -1
  #taken = 0
  #emptied = false

  constructor (config: PaceConfig) {
    this.config = config
    this.budget = Math.min(config.minCredit, config.windowMessages)
  }

  /** A consumer took `n` messages, leaving `backlog`: an emptied lane doubles a paced budget. */
  onTaken (n: number, backlog: number): void {
    this.#taken += n
    if (backlog !== 0) return
    this.#emptied = true
    if (!this.paced) return
    this.budget = Math.min(this.config.windowMessages, 2 * this.budget)
    if (this.budget >= this.config.windowMessages) this.paced = false
  }

  /** Re-evaluate at `nowMs`, with `backlog` messages waiting, the oldest for `headAgeMs`. */
  update (nowMs: number, backlog: number, headAgeMs: number): void {
    const { targetMs, minCredit, windowMessages } = this.config
    if (this.#intervalStartMs < 0) this.#intervalStartMs = nowMs
    const elapsed = nowMs - this.#intervalStartMs
    if (elapsed >= targetMs) {
      this.rate = this.#taken * 1000 / elapsed
      const emptied = this.#emptied || backlog === 0
      this.#taken = 0
      this.#emptied = false
      this.#intervalStartMs = nowMs
      if (this.paced) {
        const paced = this.#pacedBudget()
        this.budget = emptied ? Math.max(paced, 2 * this.budget) : paced
        if (this.budget >= windowMessages) {
          this.paced = false
          this.budget = windowMessages
        }
      }
    }
    if (!this.paced && backlog > 0 && headAgeMs > targetMs) {
      this.paced = true
      this.budget = Math.min(windowMessages, this.#pacedBudget())
    }
    if (this.budget < minCredit) this.budget = Math.min(minCredit, windowMessages)
  }

  #pacedBudget (): number {
    return Math.max(this.config.minCredit, Math.ceil(this.rate * this.config.targetMs / 1000))
  }

  /** Messages a sender may write past what it was acknowledged, with `backlog` messages and `backlogBytes` waiting. */
  credit (backlog: number, backlogBytes: number): number {
    const { capacity, maxBytes, windowMessages } = this.config
    if (backlog >= capacity || backlogBytes >= maxBytes) return 0
    const room = Math.min(windowMessages, capacity - backlog)
    return this.paced ? Math.max(0, Math.min(room, this.budget - backlog)) : room
  }
}
