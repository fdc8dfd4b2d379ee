import { decodeUint8Array, encodingLength } from 'uint8-varint'
import { FrameTooLargeError, MalformedFrameError, StreamClosedError } from './errors.ts'
import { ACK_DELAY_MS } from './constants.ts'
import { keepaliveAckDue, nextKeepaliveCheckMs } from './ack-keepalive.ts'
import { FrameDecoder } from './frame-codec.ts'
import { ChunkBatch } from './chunk-batch.ts'
import { LaneAcks } from './lane-acks.ts'
import { FIRST_CHUNK, LAST_CHUNK, WHOLE, decodeHello, decodeResume, encodeAnswer } from './link-protocol.ts'
import { MessageAssembler } from './message-assembler.ts'
import { acceptHello, acceptResume } from './stream-opening.ts'
import { ReceiveCounters } from './peer-stats.ts'
import { TentativeHold } from './tentative-hold.ts'
import type { Clock, TimerHandle } from './clock.ts'
import type { CreditWaiter, Inbox } from './inbox.ts'
import type { Lane } from './lanes.ts'
import type { Hello } from './link-protocol.ts'
import type { Logger } from './logger.ts'
import type { TentativeStats } from './peer-stats.ts'
import type { Bytes, Channel, ChannelHandler } from './transport.ts'

export interface ReceiverComponents {
  inbox: Inbox
  logger: Logger
  /** Time for the ack and keepalive timers. */
  clock: Clock
  /** Called once when the channel has closed, for whatever reason. */
  onClose: (receiver: Receiver, err?: Error) => void
}

export interface ReceiverConfig {
  maxFrameBytes: number
  /** Most recent messages kept while tentative. */
  tentativeMaxMessages: number
  tentativeMaxBytes: number
  /** While a lane is held (no credit), the receiver says so at least this often. */
  keepaliveIntervalMs: number
  /** An idle receiver acks this often. */
  idleKeepaliveIntervalMs: number
  /** The lanes; a sender that writes more than twice what a lane's window can grow to unacknowledged is cut off. */
  lanes: readonly Lane[]
}

/**
 * Reads one inbound channel. The sender is the identity the transport
 * authenticated, never anything written in a frame. Frames are decoded
 * synchronously as chunks arrive; chunked messages are reassembled per lane.
 *
 * A member's Receiver delivers to the inbox at once and acknowledges per
 * lane: within ACK_DELAY_MS, at once after ACK_EVERY_BYTES or
 * ACK_EVERY_MESSAGES or half the credit. Every ack carries the lane's
 * credit, how many more messages the sender may write, which the inbox
 * sets by how fast the lane's consumer takes (inbox-credit.ts): a lane
 * whose consumer is behind gives little or none (saying the lane is held,
 * every `keepaliveIntervalMs`), so its senders' queues drop oldest, while
 * the other lanes flow. When the credit has grown the receiver says so. A
 * sender that writes past its credit is cut off. The channel itself is
 * never paused.
 *
 * A non-member's Receiver is tentative: a TentativeHold keeps only the
 * most recent messages (bounded in count and bytes) until `promote()` makes
 * it a member's, which delivers them in order and carries on.
 *
 * A malformed or oversized frame closes this channel only, with the reason
 * logged. The first frame is the sender's hello (link-protocol.ts), answered
 * with where each lane resumes.
 */
export class Receiver implements ChannelHandler {
  readonly identity: string
  readonly createdAtMs: number
  readonly #channel: Channel
  readonly #components: ReceiverComponents
  readonly #config: ReceiverConfig
  #log: Logger
  readonly #decoder: FrameDecoder
  readonly #laneCount: number
  #nodeId: string | undefined
  /** Defined while tentative; let go of (delivered, handed over or discarded) once, then undefined. */
  #hold: TentativeHold | undefined
  #counters: ReceiveCounters
  readonly #assemblers: Array<MessageAssembler | undefined>
  #closed = false
  /** The sender's hello, once it arrived. */
  #hello: Hello | undefined
  /** The sender's resume frame arrived: message frames may follow. */
  #resumed = false
  #answerKnown = false
  /** False after an ack `send()` returned false, until drain: acks are cumulative, later ones cover skipped ones. */
  #writable = true
  #writeFailed = false
  /** Per lane, on this stream: what was acknowledged and granted. */
  readonly #acks: LaneAcks
  /** Per lane, waiting for the inbox to say the credit has grown (registered while `waiting`). */
  readonly #creditWaiters: Array<CreditWaiter & { waiting: boolean }>
  /** Scratch: the credit and partial bytes of each lane in the acks being written. */
  readonly #credits: number[]
  readonly #partials: number[]
  #ackTimer?: TimerHandle
  #keepaliveTimer?: TimerHandle
  #lastWriteMs = 0
  /** Whole messages decoded from the chunk in hand, delivered when it is done. */
  readonly #batch = new ChunkBatch()

  constructor (components: ReceiverComponents, config: ReceiverConfig, channel: Channel, member?: { nodeId: string, counters: ReceiveCounters }) {
    this.identity = channel.remoteIdentity
    this.#channel = channel
    this.#components = components
    this.#config = config
    this.createdAtMs = components.clock.now()
    this.#log = components.logger
    this.#laneCount = config.lanes.length
    // a frame is a tag byte, for a first chunk a varint, and at most maxFrameBytes of payload
    this.#decoder = new FrameDecoder(config.maxFrameBytes + 1 + 8, this.#onFrame, this.#onChunkDone)
    const n = this.#laneCount
    this.#assemblers = new Array(n).fill(undefined)
    this.#acks = new LaneAcks(n)
    this.#creditWaiters = Array.from({ length: n }, (_, lane) => {
      const waiter = {
        above: 0,
        waiting: false,
        callback: (): void => {
          waiter.waiting = false
          this.#writeAcks(false)
        }
      }
      return waiter
    })
    this.#credits = new Array<number>(n).fill(0)
    this.#partials = new Array<number>(n).fill(0)
    if (member === undefined) {
      this.#hold = new TentativeHold({ maxMessages: config.tentativeMaxMessages, maxBytes: config.tentativeMaxBytes })
      this.#counters = new ReceiveCounters(n)
    } else {
      this.#nodeId = member.nodeId
      this.#counters = member.counters
    }
    channel.setHandler(this)
  }

  /** The member this receiver delivers for; undefined while tentative. */
  get nodeId (): string | undefined { return this.#nodeId }
  get closed (): boolean { return this.#closed }
  get counters (): ReceiveCounters { return this.#counters }

  /**
   * Make a tentative receiver a member's: its held messages go to the inbox in
   * order, its counts are added to the member's, and it delivers (and logs
   * to `logger`, when given) from now on.
   */
  promote (nodeId: string, counters: ReceiveCounters, logger?: Logger): void {
    if (logger !== undefined) this.#log = logger
    counters.add(this.#counters)
    this.#counters = counters
    this.#nodeId = nodeId
    const hold = this.#hold
    this.#hold = undefined
    const delivered = hold?.deliverTo(this.#components.inbox, nodeId) ?? 0
    this.#log.info({ heldMessages: delivered }, 'tentative receiver promoted')
    if (this.#hello !== undefined) this.#afterData()
  }

  /** Take over the held messages of an older tentative receiver of the same peer (kept in order). */
  adoptHeld (older: Receiver): void {
    const mine = this.#hold
    const theirs = older.#hold
    if (mine === undefined || theirs === undefined) return
    this.#counters.add(older.#counters)
    older.#hold = undefined
    theirs.handOver(mine)
  }

  tentativeStats (): TentativeStats {
    const hold = this.#hold
    return {
      identity: this.identity,
      heldMessages: hold?.heldMessages ?? 0,
      heldBytes: hold?.heldBytes ?? 0,
      droppedMessages: hold?.droppedMessages ?? 0,
      receivedMessages: this.#counters.messages,
      createdAtMs: this.createdAtMs
    }
  }

  /** The frame `chunk[start..end)`: one view per whole message, of its payload (no tag). */
  readonly #onFrame = (chunk: Uint8Array, start: number, end: number): boolean => {
    if (this.#hello === undefined) {
      this.#onHello(chunk.subarray(start, end))
      return true
    }
    if (!this.#resumed) {
      this.#onResume(chunk.subarray(start, end))
      return true
    }
    const tag = end > start ? chunk[start] : undefined
    const lane = (tag ?? 0) & 7
    const kind = (tag ?? 0) >> 3
    if (tag === undefined || kind > 3 || lane >= this.#laneCount) {
      throw new MalformedFrameError(`frame with tag ${tag ?? 'none'}: not a lane of this node (${this.#laneCount} lanes) or not a kind of message frame`)
    }
    if (kind === WHOLE) {
      const bytes = end - start - 1
      if (this.#assemblers[lane]?.active === true) throw new MalformedFrameError(`lane ${lane} sent a whole message inside a chunked one`)
      if (bytes > this.#config.maxFrameBytes) {
        throw new FrameTooLargeError(`message of ${bytes} bytes exceeds the maximum of ${this.#config.maxFrameBytes} bytes`)
      }
      this.#acks.unackedBytes[lane] += bytes
      this.#take(lane, chunk.subarray(start + 1, end), true)
      return true
    }
    const payload = chunk.subarray(start, end)
    const assembler = this.#assemblers[lane] ??= new MessageAssembler(this.#config.maxFrameBytes)
    if (kind === FIRST_CHUNK) {
      let total: number
      try {
        total = decodeUint8Array(payload, 1)
      } catch (err) {
        throw new MalformedFrameError(`a first chunk has a malformed size: ${(err as Error).message}`)
      }
      const part = payload.subarray(1 + encodingLength(total))
      assembler.start(total, part)
      this.#acks.unackedBytes[lane] += part.byteLength
      return true
    }
    const part = payload.subarray(1)
    const message = assembler.append(part, kind === LAST_CHUNK)
    this.#acks.unackedBytes[lane] += part.byteLength
    if (message !== undefined) this.#take(lane, message, false)
    return true
  }

  /** A whole message arrived on `lane`; `view` when it points into the transport's chunk. Throws `MalformedFrameError` past the credit. */
  #take (lane: number, payload: Uint8Array, view: boolean): void {
    if (this.#acks.pastCredit(lane, this.#counters.next[lane])) {
      throw new MalformedFrameError(`the sender wrote past its credit on lane "${this.#config.lanes[lane].name}" (message ${this.#counters.next[lane]}, credit up to ${this.#acks.limit[lane]})`)
    }
    this.#counters.took(lane, payload.byteLength)
    this.#acks.unackedMessages[lane]++
    const hold = this.#hold
    if (hold !== undefined) {
      hold.hold(lane, payload, view)
      return
    }
    // in line with the whole messages of the chunk in hand: a lane's messages reach the inbox in order
    this.#batch.add(lane, payload, !view)
  }

  /** The chunk in hand is decoded: its messages go to the inbox (ChunkBatch). */
  readonly #onChunkDone = (chunkBytes: number): void => {
    if (!this.#batch.empty) this.#batch.flush(this.#components.inbox, this.#nodeId as string, chunkBytes, this.#components.clock.now())
  }

  /** Throws `MalformedFrameError`, `ProtocolVersionError` (inside the decoder's sink: the stream is then failed). */
  #onHello (payload: Uint8Array): void {
    const hello = decodeHello(payload, this.#laneCount)
    this.#answerKnown = acceptHello(this.#counters, hello)
    this.#hello = hello
    const now = this.#components.clock.now()
    for (let lane = 0; lane < this.#laneCount; lane++) this.#credits[lane] = this.#creditOf(lane, now)
    this.#write(encodeAnswer({ known: this.#answerKnown, next: this.#counters.next, credit: this.#credits }))
    this.#scheduleKeepalive()
  }

  /** Where each lane starts on this stream (stream-opening.ts); the answer's credit counts from there. Throws `MalformedFrameError`. */
  #onResume (payload: Uint8Array): void {
    const start = decodeResume(payload, this.#laneCount)
    acceptResume(this.#counters, this.#hello as Hello, this.#answerKnown, start)
    for (let lane = 0; lane < this.#laneCount; lane++) {
      this.#acks.start(lane, start[lane], this.#credits[lane])
      this.#watchCredit(lane)
    }
    this.#resumed = true
    this.#scheduleKeepalive()
  }

  onData (data: Bytes): void {
    if (this.#closed) return
    try {
      this.#decoder.push(data)
    } catch (err) {
      this.#onChunkDone(Number.POSITIVE_INFINITY)
      this.#fail(err as Error)
      return
    }
    if (this.#hello !== undefined) this.#afterData()
  }

  /** Acknowledge at once past the thresholds, else soon (LaneAcks.urgency). */
  #afterData (): void {
    const urgency = this.#acks.urgency()
    if (urgency === 'now') this.#ack()
    else if (urgency === 'soon' && this.#ackTimer === undefined) this.#ackTimer = this.#components.clock.setTimeout(this.#ack, ACK_DELAY_MS)
  }

  /** The credit of `lane` for this sender: the inbox lane's (inbox-credit.ts); a tentative sender's is its window (it keeps the most recent anyway). */
  #creditOf (lane: number, nowMs: number): number {
    if (this.#hold !== undefined) return this.#config.lanes[lane].windowMessages
    return this.#components.inbox.credit(lane, nowMs)
  }

  /** While the credit of `lane` is below the most it can be, have the inbox call back when it has grown by half (from none: by any). */
  #watchCredit (lane: number): void {
    if (this.#hold !== undefined) return
    const inbox = this.#components.inbox
    const most = inbox.maxCredit(lane)
    const credit = this.#acks.advertised[lane]
    if (credit >= most) return
    const waiter = this.#creditWaiters[lane]
    waiter.above = Math.min(credit + (credit >> 1), most - 1)
    if (waiter.waiting) return
    waiter.waiting = true
    inbox.whenCredit(lane, waiter)
  }

  readonly #ack = (): void => {
    // also called directly: a pending delayed ack is then covered
    this.#components.clock.clearTimeout(this.#ackTimer)
    this.#ackTimer = undefined
    this.#writeAcks(false)
  }

  /**
   * Write the acks of every lane that made progress or whose credit changed
   * notably; with `all`, of every lane.
   */
  #writeAcks (all: boolean): void {
    if (this.#closed || !this.#resumed) return
    const credits = this.#credits
    const partials = this.#partials
    const now = this.#components.clock.now()
    for (let lane = 0; lane < this.#laneCount; lane++) {
      credits[lane] = this.#creditOf(lane, now)
      partials[lane] = this.#partial(lane)
    }
    const held = this.#acks.heldCount
    const bytes = this.#acks.encode(this.#counters.next, partials, credits, all)
    if (bytes === undefined) return
    for (let lane = 0; lane < this.#laneCount; lane++) this.#watchCredit(lane)
    this.#write(bytes)
    if ((held > 0) !== (this.#acks.heldCount > 0)) this.#scheduleKeepalive()
  }

  #partial (lane: number): number {
    return this.#assemblers[lane]?.filled ?? 0
  }

  /** One timer per receiver, due when the next keepalive ack would be: soon while a lane is held, rarely when idle. */
  #scheduleKeepalive (): void {
    const clock = this.#components.clock
    clock.clearTimeout(this.#keepaliveTimer)
    if (this.#closed) return
    const dueMs = nextKeepaliveCheckMs(clock.now(), this.#lastWriteMs, this.#acks.heldCount > 0, this.#config)
    this.#keepaliveTimer = clock.setTimeout(this.#onKeepalive, dueMs)
  }

  readonly #onKeepalive = (): void => {
    if (this.#closed) return
    if (keepaliveAckDue(this.#components.clock.now(), this.#lastWriteMs, this.#acks.heldCount > 0, this.#config)) this.#writeAcks(true)
    this.#scheduleKeepalive()
  }

  #write (bytes: Uint8Array): void {
    if (!this.#writable || this.#closed || this.#writeFailed) return
    this.#lastWriteMs = this.#components.clock.now()
    try {
      this.#writable = this.#channel.send(bytes)
    } catch (err) {
      // the writing side is gone (the stream is closing): reading may go on;
      // without acks the sender's keepalive replaces the stream if it lives on
      this.#writeFailed = true
      this.#log.debug({ err: (err as Error).message }, 'cannot acknowledge any more')
    }
  }

  #fail (err: Error): void {
    // a non-member can open streams at will: its failures are not worth a warning each
    const level = this.#nodeId === undefined ? 'debug' : 'warn'
    this.#log[level]({ reason: err.message, err: err.name }, 'closing inbound stream')
    this.close(err)
  }

  onDrain (): void {
    this.#writable = true
  }

  onIdle (): void {}

  onEnd (): void {
    if (this.#closed) return
    if (this.#decoder.bufferedBytes > 0 || this.#assemblers.some(a => a?.active === true)) {
      this.#fail(new MalformedFrameError(`stream ended inside a frame or a chunked message (${this.#decoder.bufferedBytes} bytes buffered)`))
      return
    }
    // the sender finished cleanly: acknowledge everything, then close our side too
    this.#ack()
    this.#channel.close().catch((err: unknown) => { this.#log.debug({ err: String(err) }, 'close after end failed') })
  }

  onClose (err?: Error): void {
    if (this.#closed) return
    this.#closed = true
    this.#components.clock.clearTimeout(this.#ackTimer)
    this.#components.clock.clearTimeout(this.#keepaliveTimer)
    this.#components.onClose(this, err)
    // after the owner heard of it: the pool counts what the hold loses on the way out
    this.#hold?.discard()
    this.#hold = undefined
  }

  /** Close the channel at once (remote sees a reset). Idempotent. */
  close (reason: Error = new StreamClosedError('receiver closed')): void {
    if (this.#closed) return
    this.#channel.abort(reason)
    // a channel reports its own close; make sure the owner hears of it once even if it does not
    this.onClose(reason)
  }
}
