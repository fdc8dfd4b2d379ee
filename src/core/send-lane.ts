import { FIRST_CHUNK, LAST_CHUNK, MIDDLE_CHUNK, WHOLE, frameTag } from './link-protocol.ts'
import { WindowEstimator } from './window-estimator.ts'
import type { FramePlan } from './frame-codec.ts'
import type { Lane } from './lanes.ts'
import type { SendCounters } from './peer-stats.ts'

/**
 * One lane of a Dispatcher: the messages it holds for one member, and where
 * each stands on the link.
 *
 * The lane holds, in order, the messages written and not yet acknowledged
 * (kept to be resent if the connection breaks) and then those not yet
 * written, together at most `queueCapacity` messages and `queueMaxBytes`
 * bytes. A new message that does not fit drops the oldest held, written or
 * not: after a long partition the lane holds the freshest messages, which
 * are what consensus wants. At most `windowMessages` messages and a window
 * of bytes (plus the rest of one chunk) are written and not yet
 * acknowledged at once; the byte window is `windowBytes`, or more on a long
 * link (WindowEstimator: bandwidth × delay), up to `queueMaxBytes`.
 *
 * Sequence numbers: the n-th message first written on the lane has number n.
 * `settled` is the number below which every message is acknowledged,
 * dropped or lost; the messages held and written have numbers
 * `retainedSeq ..< nextSeq`; between `settled` and `retainedSeq` lie
 * messages dropped from the lane after they were written (they may still
 * arrive; the receiver's acks or its next answer say).
 *
 *     sent = acknowledged + dropped after writing + lost + unconfirmed
 *
 * No timers and no I/O: the Dispatcher drives it (begin/resume/end of each
 * stream, acks) and asks it for chunks to write.
 */
export class SendLane {
  readonly lane: Lane
  readonly #chunkBytes: number
  // held messages: a ring, oldest at #head
  #ring: Array<Uint8Array | undefined>
  #head = 0
  #length = 0
  #bytes = 0
  /** Of the held messages, how many (from the oldest) were written at least once. */
  #written = 0
  #writtenBytes = 0
  #retainedSeq = 0
  #nextSeq = 0
  #settled = 0
  /** Sizes of messages dropped after writing and not yet settled (numbers `#settled ..< #retainedSeq`). */
  #evictedSizes: number[] = []
  #evictedHead = 0

  // the current stream
  #open = false
  /** Index among the held messages of the next one to write on this stream. */
  #cursor = 0
  #current?: Uint8Array
  #currentOffset = 0
  #streamBytes = 0
  #ackedBytes = 0
  /** Per sequence number in flight on this stream: stream bytes written before it, and when. */
  #startBytes?: Float64Array
  #startAtMs?: Float64Array
  /** Stream bytes at the end of each chunk written and not yet acknowledged, and when it was written. */
  #chunkEnds: number[] = []
  #chunkAtMs: number[] = []
  #chunkHead = 0
  readonly #window: WindowEstimator
  /** The receiver's last word: no credit now. */
  held = false
  /** Messages from this sequence number on may not be written yet: the receiver's `next + credit`. */
  #limitSeq = 0

  readonly counters = {
    sentMessages: 0,
    sentBytes: 0,
    droppedMessages: 0,
    droppedBytes: 0,
    acknowledgedMessages: 0,
    lostInFlightMessages: 0,
    resentMessages: 0,
    discardedMessages: 0
  }

  constructor (lane: Lane, chunkBytes: number) {
    this.lane = lane
    this.#chunkBytes = chunkBytes
    this.#ring = new Array(lane.queueCapacity)
    this.#window = new WindowEstimator(lane.windowBytes, lane.queueMaxBytes)
  }

  /** The byte window now (see WindowEstimator). */
  get windowBytes (): number { return this.#window.windowBytes }

  /** Messages held and not yet written. */
  get queued (): number { return this.#length - this.#written }
  get queuedBytes (): number { return this.#bytes - this.#writtenBytes }
  get unconfirmed (): number { return this.#nextSeq - this.#settled }
  /** Sequence number of the oldest message this lane can resend (for the hello). */
  get retainedSeq (): number { return this.#retainedSeq }
  /** Sequence number of the next message written for the first time on this stream. */
  get #writeSeq (): number { return this.#retainedSeq + this.#cursor }

  /** When the oldest message written on this stream and not yet acknowledged was written; undefined if none. */
  get oldestUnacknowledgedMs (): number | undefined {
    if (!this.#open || this.#settled >= this.#writeSeq) return undefined
    return (this.#startAtMs as Float64Array)[this.#settled % (this.#startAtMs as Float64Array).length]
  }

  /** Hold a message; returns how many older ones were dropped to make room. */
  push (payload: Uint8Array): number {
    const capacity = this.lane.queueCapacity
    const maxBytes = this.lane.queueMaxBytes
    let dropped = 0
    while (this.#length > 0 && (this.#length === capacity || this.#bytes + payload.byteLength > maxBytes)) {
      this.#dropOldest()
      dropped++
    }
    this.#ring[(this.#head + this.#length) % capacity] = payload
    this.#length++
    this.#bytes += payload.byteLength
    return dropped
  }

  #shift (): Uint8Array {
    const item = this.#ring[this.#head] as Uint8Array
    this.#ring[this.#head] = undefined
    this.#head = (this.#head + 1) % this.lane.queueCapacity
    this.#length--
    this.#bytes -= item.byteLength
    return item
  }

  #dropOldest (): void {
    const item = this.#shift()
    if (this.#written > 0 && this.#open && this.#cursor === 0) {
      // written on an earlier stream and not yet again on this one: the
      // resume frame numbered this stream from it, and the receiver has taken
      // nothing from there, so the next held message takes its number
      this.#written--
      this.#writtenBytes -= item.byteLength
      this.#nextSeq--
      this.counters.droppedMessages++
      this.counters.droppedBytes += item.byteLength
    } else if (this.#written > 0) {
      // written, maybe in flight: it may still arrive; settled later
      this.#written--
      this.#writtenBytes -= item.byteLength
      this.#retainedSeq++
      this.#evictedSizes.push(item.byteLength)
      if (this.#cursor > 0) this.#cursor--
    } else {
      this.counters.droppedMessages++
      this.counters.droppedBytes += item.byteLength
    }
  }

  /** A stream is being opened: nothing is written until `resume()`. */
  begin (): void {
    this.#open = false
    this.#current = undefined
  }

  /**
   * The receiver answered the hello: `known` whether it knows this sender's
   * incarnation, `next` the next sequence number it expects on this lane.
   * Settles what the last stream left open; the stream then resumes at
   * max(next, retainedSeq), resending every held message from there.
   */
  resume (known: boolean, next: number, credit: number): void {
    if (known) {
      this.#acknowledge(next)
      if (this.#settled < this.#retainedSeq) {
        // dropped after writing and never arrived
        const n = this.#retainedSeq - this.#settled
        this.counters.droppedMessages += n
        for (let i = 0; i < n; i++) this.counters.droppedBytes += this.#evictedSizes[this.#evictedHead + i]
        this.#settled = this.#retainedSeq
      }
    } else if (this.#settled < this.#retainedSeq) {
      // the receiver restarted: its previous life cannot say what it took
      this.counters.lostInFlightMessages += this.#retainedSeq - this.#settled
      this.#settled = this.#retainedSeq
    }
    this.#evictedSizes = []
    this.#evictedHead = 0
    const slots = this.lane.windowMessages + 2
    this.#startBytes ??= new Float64Array(slots)
    this.#startAtMs ??= new Float64Array(slots)
    this.#cursor = 0
    this.#current = undefined
    this.#streamBytes = 0
    this.#ackedBytes = 0
    this.#chunkEnds = []
    this.#chunkAtMs = []
    this.#chunkHead = 0
    this.#window.restart()
    // the answer's credit counts from where this stream starts
    this.#limitSeq = this.#retainedSeq + credit
    this.held = credit === 0
    this.#open = true
  }

  /** The stream ended: a message half written is resent whole on the next. */
  end (): void {
    this.#open = false
    this.#current = undefined
  }

  /**
   * At `nowMs`: every message below `next` was taken, and `partialBytes` of
   * message `next`; the receiver takes `credit` more messages past `next`
   * (none: the lane is held).
   */
  ack (next: number, partialBytes: number, credit: number, nowMs: number): void {
    if (!this.#open) return
    const writeSeq = this.#writeSeq
    if (next > writeSeq) next = writeSeq
    if (next < this.#settled) return
    this.held = credit === 0
    this.#limitSeq = next + credit
    const startBytes = this.#startBytes as Float64Array
    const acked = next < writeSeq ? startBytes[next % startBytes.length] + partialBytes : this.#streamBytes
    if (acked > this.#ackedBytes) {
      this.#ackedBytes = Math.min(acked, this.#streamBytes)
      this.#measure(nowMs)
    }
    this.#acknowledge(next)
  }

  /** Feed the window estimator: the round trip of the newest chunk now acknowledged, and the bytes acknowledged. */
  #measure (nowMs: number): void {
    const ends = this.#chunkEnds
    let head = this.#chunkHead
    let writtenAt = -1
    while (head < ends.length && ends[head] <= this.#ackedBytes) writtenAt = this.#chunkAtMs[head++]
    if (head === ends.length) {
      ends.length = 0
      this.#chunkAtMs.length = 0
      head = 0
    } else if (head > 1024 && head * 2 > ends.length) {
      ends.splice(0, head)
      this.#chunkAtMs.splice(0, head)
      head = 0
    }
    this.#chunkHead = head
    if (writtenAt >= 0) this.#window.onRtt(nowMs, nowMs - writtenAt)
    this.#window.onAcked(nowMs, this.#ackedBytes)
  }

  #acknowledge (next: number): void {
    if (next > this.#nextSeq) next = this.#nextSeq
    if (next <= this.#settled) return
    this.counters.acknowledgedMessages += next - this.#settled
    // acknowledged messages among those dropped after writing
    const evicted = Math.min(next, this.#retainedSeq) - this.#settled
    if (evicted > 0) {
      this.#evictedHead += evicted
      if (this.#evictedHead > 1024 && this.#evictedHead * 2 > this.#evictedSizes.length) {
        this.#evictedSizes.splice(0, this.#evictedHead)
        this.#evictedHead = 0
      }
    }
    this.#settled = next
    let release = Math.min(this.#written, next - this.#retainedSeq)
    while (release-- > 0) {
      const item = this.#shift()
      this.#written--
      this.#writtenBytes -= item.byteLength
      this.#retainedSeq++
      if (this.#cursor > 0) this.#cursor--
    }
  }

  /**
   * Bytes of the next chunk this lane may write on the open stream, or -1
   * when it has nothing to write or its window is full.
   */
  nextSize (): number {
    if (!this.#open) return -1
    const inFlightBytes = this.#streamBytes - this.#ackedBytes
    const current = this.#current
    if (current !== undefined) {
      // the receiver acks the bytes of a message in progress too, so a message larger than the window moves on
      if (inFlightBytes >= this.#window.windowBytes) return -1
      return Math.min(this.#chunkBytes, current.byteLength - this.#currentOffset)
    }
    if (this.#cursor >= this.#length) return -1
    if (inFlightBytes >= this.#window.windowBytes || this.#writeSeq - this.#settled >= this.lane.windowMessages || this.#writeSeq >= this.#limitSeq) return -1
    const size = (this.#ring[(this.#head + this.#cursor) % this.lane.queueCapacity] as Uint8Array).byteLength
    return Math.min(this.#chunkBytes, size)
  }

  /** Plan the next chunk (after `nextSize()` said one may go); returns its payload bytes. */
  writeNext (plan: FramePlan, nowMs: number): number {
    let payload = this.#current
    if (payload === undefined) {
      payload = this.#ring[(this.#head + this.#cursor) % this.lane.queueCapacity] as Uint8Array
      const seq = this.#writeSeq
      if (this.#cursor < this.#written) {
        this.counters.resentMessages++
      } else {
        this.#written++
        this.#writtenBytes += payload.byteLength
        this.#nextSeq++
        this.counters.sentMessages++
        this.counters.sentBytes += payload.byteLength
      }
      this.#cursor++
      const startBytes = this.#startBytes as Float64Array
      startBytes[seq % startBytes.length] = this.#streamBytes;
      (this.#startAtMs as Float64Array)[seq % startBytes.length] = nowMs
      if (payload.byteLength <= this.#chunkBytes) {
        plan.add(frameTag(this.lane.number, WHOLE), payload, 0, payload.byteLength, -1)
        this.#streamBytes += payload.byteLength
        this.#chunkEnds.push(this.#streamBytes)
        this.#chunkAtMs.push(nowMs)
        return payload.byteLength
      }
      this.#current = payload
      this.#currentOffset = 0
    }
    const start = this.#currentOffset
    const end = Math.min(payload.byteLength, start + this.#chunkBytes)
    const kind = start === 0 ? FIRST_CHUNK : end === payload.byteLength ? LAST_CHUNK : MIDDLE_CHUNK
    plan.add(frameTag(this.lane.number, kind), payload, start, end, kind === FIRST_CHUNK ? payload.byteLength : -1)
    this.#streamBytes += end - start
    this.#chunkEnds.push(this.#streamBytes)
    this.#chunkAtMs.push(nowMs)
    if (end === payload.byteLength) {
      this.#current = undefined
    } else {
      this.#currentOffset = end
    }
    return end - start
  }

  /** Drop everything not yet written (the member was removed or the module closes); returns how many. */
  discard (): number {
    const n = this.queued
    while (this.#length > this.#written) {
      // newest first: the ring's tail
      const i = (this.#head + this.#length - 1) % this.lane.queueCapacity
      this.#bytes -= (this.#ring[i] as Uint8Array).byteLength
      this.#ring[i] = undefined
      this.#length--
    }
    this.counters.discardedMessages += n
    return n
  }

  stats (): SendCounters {
    const c = this.counters
    return {
      queued: this.queued,
      queuedBytes: this.queuedBytes,
      sentMessages: c.sentMessages,
      sentBytes: c.sentBytes,
      droppedMessages: c.droppedMessages,
      droppedBytes: c.droppedBytes,
      acknowledgedMessages: c.acknowledgedMessages,
      lostInFlightMessages: c.lostInFlightMessages,
      unconfirmedMessages: this.unconfirmed,
      discardedMessages: c.discardedMessages,
      resentMessages: c.resentMessages
    }
  }
}
