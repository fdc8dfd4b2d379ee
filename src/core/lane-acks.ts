import { ACK_EVERY_BYTES, ACK_EVERY_MESSAGES } from './constants.ts'
import { ackLength, writeAck } from './link-protocol.ts'

/**
 * What a Receiver acknowledged and granted on one stream, per lane: the
 * bookkeeping of its acks, apart from the stream, the inbox and the timers.
 * Pure.
 *
 * The sender may write up to `next + credit` of the last ack; the receiver
 * holds it to the furthest such limit it ever advertised on the stream (a
 * credit that shrinks cannot take back what an earlier one allowed).
 */
export class LaneAcks {
  /** Per lane: the `next` and partial bytes last acknowledged. */
  readonly ackedNext: number[]
  readonly ackedPartial: number[]
  /** Per lane: taken since the last ack. */
  readonly unackedBytes: number[]
  readonly unackedMessages: number[]
  /** Per lane: the credit last advertised (-1: none yet). */
  readonly advertised: number[]
  /** Per lane: the sequence number the sender may not reach. */
  readonly limit: number[]
  /** Lanes whose advertised credit is 0 (held). */
  heldCount = 0

  constructor (lanes: number) {
    this.ackedNext = new Array<number>(lanes).fill(0)
    this.ackedPartial = new Array<number>(lanes).fill(0)
    this.unackedBytes = new Array<number>(lanes).fill(0)
    this.unackedMessages = new Array<number>(lanes).fill(0)
    this.advertised = new Array<number>(lanes).fill(-1)
    this.limit = new Array<number>(lanes).fill(0)
  }

  get lanes (): number { return this.ackedNext.length }

  /** A lane starts at `next` on this stream with the answer's `credit`. */
  start (lane: number, next: number, credit: number): void {
    this.ackedNext[lane] = next
    this.#advertise(lane, next, credit)
  }

  /** Whether message `seq` of `lane` would be past what was granted. */
  pastCredit (lane: number, seq: number): boolean {
    return seq >= this.limit[lane]
  }

  /**
   * After taking messages: ack at once (some lane is past 16 KiB, 64
   * messages or half its credit unacknowledged), soon, or not at all.
   */
  urgency (): 'now' | 'soon' | 'none' {
    let progress = false
    for (let lane = 0; lane < this.ackedNext.length; lane++) {
      const bytes = this.unackedBytes[lane]
      const messages = this.unackedMessages[lane]
      if (bytes === 0 && messages === 0) continue
      if (bytes >= ACK_EVERY_BYTES || messages >= ACK_EVERY_MESSAGES || 2 * messages >= this.advertised[lane]) return 'now'
      progress = true
    }
    return progress ? 'soon' : 'none'
  }

  /** Whether `credit` is worth an ack of its own: from or to none, or a change of a quarter. */
  news (lane: number, credit: number): boolean {
    const was = this.advertised[lane]
    if (credit === was) return false
    return credit === 0 || was === 0 || 4 * Math.abs(credit - was) >= was
  }

  /**
   * The acks of every lane that made progress or whose credit is news (with
   * `all`, of every lane), given each lane's `next`, partial bytes and
   * credit now; records them as acknowledged and advertised. Undefined when
   * there is nothing to say.
   */
  encode (next: readonly number[], partial: readonly number[], credits: readonly number[], all: boolean): Uint8Array | undefined {
    const lanes = this.ackedNext.length
    let size = 0
    for (let lane = 0; lane < lanes; lane++) size += ackLength(lane, next[lane], partial[lane], credits[lane])
    const out = new Uint8Array(size)
    let offset = 0
    for (let lane = 0; lane < lanes; lane++) {
      if (!all && next[lane] === this.ackedNext[lane] && partial[lane] === this.ackedPartial[lane] && !this.news(lane, credits[lane])) continue
      offset = writeAck(out, offset, lane, next[lane], partial[lane], credits[lane])
      this.ackedNext[lane] = next[lane]
      this.ackedPartial[lane] = partial[lane]
      this.unackedBytes[lane] = 0
      this.unackedMessages[lane] = 0
      this.#advertise(lane, next[lane], credits[lane])
    }
    if (offset === 0) return undefined
    return offset === size ? out : out.subarray(0, offset)
  }

  #advertise (lane: number, next: number, credit: number): void {
    const was = this.advertised[lane]
    this.advertised[lane] = credit
    if ((was === 0) !== (credit === 0)) this.heldCount += credit === 0 ? 1 : -1
    if (next + credit > this.limit[lane]) this.limit[lane] = next + credit
  }
}
