import { DropOldestQueue } from './drop-oldest-queue.ts'
import { MalformedFrameError, StreamClosedError } from './errors.ts'
import { ACK_DELAY_MS } from './constants.ts'
import { FrameDecoder } from './frame-codec.ts'
import { decodeHello, encodeProgress, encodeResume } from './link-protocol.ts'
import { ReceiveCounters } from './peer-stats.ts'
import type { Inbox } from './inbox.ts'
import type { Logger } from './logger.ts'
import type { TentativeStats } from './peer-stats.ts'
import type { Bytes, Channel, ChannelHandler } from './transport.ts'

export interface ReceiverComponents {
  inbox: Inbox
  logger: Logger
  /** Called once when the channel has closed, for whatever reason. */
  onClose: (receiver: Receiver, err?: Error) => void
}

export interface ReceiverConfig {
  maxFrameBytes: number
  /** Most recent messages kept while tentative. */
  tentativeMaxMessages: number
  tentativeMaxBytes: number
  /** An ack is written at least this often, as a keepalive. */
  keepaliveIntervalMs: number
  /** An idle receiver acks this often. */
  idleKeepaliveIntervalMs: number
}

/**
 * Reads one inbound channel. The sender is the identity the transport
 * authenticated, never anything written in a frame. Frames are decoded
 * synchronously as chunks arrive.
 *
 * A member's Receiver delivers to the inbox and pauses the channel while the
 * inbox is full. A non-member's Receiver is tentative: it keeps only the most
 * recent messages (bounded in count and bytes) until `promote()` makes it a
 * member's, which delivers them in order and carries on.
 *
 * A malformed or oversized frame closes this channel only, with the reason
 * logged.
 *
 * The first frame is the sender's hello (link-protocol.ts): the receiver
 * answers with how many messages of that sender incarnation it took, then
 * acknowledges what it takes within ACK_DELAY_MS, every `keepaliveIntervalMs`
 * while paused for a full inbox, and every `idleKeepaliveIntervalMs` when
 * idle, so that the sender can tell a live peer from a cut connection.
 */
export class Receiver implements ChannelHandler {
  readonly identity: string
  readonly createdAtMs = Date.now()
  readonly #channel: Channel
  readonly #components: ReceiverComponents
  #log: Logger
  readonly #decoder: FrameDecoder
  #nodeId: string | undefined
  #held: DropOldestQueue<Uint8Array> | undefined
  #counters: ReceiveCounters
  #paused = false
  #ended = false
  #closed = false
  #helloSeen = false
  /** False after an ack `send()` returned false, until drain: acks are cumulative, later ones cover skipped ones. */
  #writable = true
  #writeFailed = false
  #ackedSequence = -1
  #ackTimer?: ReturnType<typeof setTimeout>
  #keepaliveTimer?: ReturnType<typeof setTimeout>
  #lastWriteMs = 0
  readonly #keepaliveIntervalMs: number
  readonly #idleKeepaliveIntervalMs: number

  constructor (components: ReceiverComponents, config: ReceiverConfig, channel: Channel, member?: { nodeId: string, counters: ReceiveCounters }) {
    this.identity = channel.remoteIdentity
    this.#channel = channel
    this.#components = components
    this.#log = components.logger
    this.#decoder = new FrameDecoder(config.maxFrameBytes, this.#onFrame)
    this.#keepaliveIntervalMs = config.keepaliveIntervalMs
    this.#idleKeepaliveIntervalMs = config.idleKeepaliveIntervalMs
    if (member === undefined) {
      this.#held = new DropOldestQueue(config.tentativeMaxMessages, config.tentativeMaxBytes)
      this.#counters = new ReceiveCounters()
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
    const held = this.#held
    this.#held = undefined
    const delivered = held?.length ?? 0
    if (held !== undefined) {
      let payload: Uint8Array | undefined
      while ((payload = held.shift()) !== undefined) this.#components.inbox.push(nodeId, payload)
    }
    this.#log.info({ heldMessages: delivered }, 'tentative receiver promoted')
    if (this.#components.inbox.full) this.#pause()
  }

  /** Take over the held messages of an older tentative receiver of the same peer (kept in order). */
  adoptHeld (older: Receiver): void {
    const mine = this.#held
    const theirs = older.#held
    if (mine === undefined || theirs === undefined) return
    this.#counters.add(older.#counters)
    older.#held = undefined
    let payload: Uint8Array | undefined
    while ((payload = theirs.shift()) !== undefined) mine.push(payload)
  }

  tentativeStats (): TentativeStats {
    const held = this.#held
    return {
      identity: this.identity,
      heldMessages: held?.length ?? 0,
      heldBytes: held?.byteLength ?? 0,
      droppedMessages: held?.dropped ?? 0,
      receivedMessages: this.#counters.messages,
      createdAtMs: this.createdAtMs
    }
  }

  readonly #onFrame = (payload: Uint8Array): boolean => {
    const counters = this.#counters
    if (!this.#helloSeen) {
      this.#onHello(payload)
      return true
    }
    counters.sequence++
    counters.messages++
    counters.bytes += payload.byteLength
    const nodeId = this.#nodeId
    if (nodeId === undefined) {
      // copy: a view would pin the whole chunk it came in for as long as it is held
      (this.#held as DropOldestQueue<Uint8Array>).push(payload.slice())
      return true
    }
    const inbox = this.#components.inbox
    inbox.push(nodeId, payload)
    return !inbox.full
  }

  /** Throws `MalformedFrameError` (inside the decoder's sink: the stream is then failed). */
  #onHello (payload: Uint8Array): void {
    const hello = decodeHello(payload)
    const counters = this.#counters
    const received = counters.incarnation === hello.incarnation ? counters.sequence : undefined
    counters.incarnation = hello.incarnation
    counters.sequence = hello.firstSequence
    this.#helloSeen = true
    this.#ackedSequence = hello.firstSequence
    this.#write(encodeResume(received))
    this.#lastWriteMs = Date.now()
    this.#scheduleKeepalive()
  }

  /** One timer per receiver, due when the next keepalive ack would be: soon while paused, rarely when idle. */
  #scheduleKeepalive (): void {
    clearTimeout(this.#keepaliveTimer)
    const intervalMs = this.#paused ? this.#keepaliveIntervalMs : this.#idleKeepaliveIntervalMs
    const dueMs = Math.max(10, this.#lastWriteMs + intervalMs - Date.now())
    this.#keepaliveTimer = setTimeout(this.#onKeepalive, dueMs)
  }

  readonly #onKeepalive = (): void => {
    if (this.#closed) return
    const intervalMs = this.#paused ? this.#keepaliveIntervalMs : this.#idleKeepaliveIntervalMs
    if (Date.now() - this.#lastWriteMs >= intervalMs - 10) this.#ack()
    this.#scheduleKeepalive()
  }

  readonly #ack = (): void => {
    // also called directly (on pause, at the end): a pending delayed ack is then covered
    clearTimeout(this.#ackTimer)
    this.#ackTimer = undefined
    if (this.#closed) return
    const sequence = this.#counters.sequence
    this.#ackedSequence = sequence
    this.#write(encodeProgress(sequence, this.#paused))
  }

  #write (bytes: Uint8Array): void {
    if (!this.#writable || this.#closed || this.#writeFailed) return
    this.#lastWriteMs = Date.now()
    try {
      this.#writable = this.#channel.send(bytes)
    } catch (err) {
      // the writing side is gone (the stream is closing): reading may go on;
      // without acks the sender's keepalive replaces the stream if it lives on
      this.#writeFailed = true
      this.#log.debug({ err: (err as Error).message }, 'cannot acknowledge any more')
    }
  }

  onData (data: Bytes): void {
    if (this.#closed) return
    try {
      this.#decoder.push(data)
    } catch (err) {
      this.#fail(err as Error)
      return
    }
    this.#scheduleAck()
    if (this.#decoder.stopped) this.#pause()
  }

  #scheduleAck (): void {
    if (this.#ackTimer === undefined && this.#counters.sequence !== this.#ackedSequence && this.#helloSeen) {
      this.#ackTimer = setTimeout(this.#ack, ACK_DELAY_MS)
    }
  }

  /** Stop reading until the inbox has room; what was already read waits in the decoder. */
  #pause (): void {
    if (this.#paused || this.#closed) return
    this.#paused = true
    if (this.#helloSeen) {
      this.#ack()
      this.#scheduleKeepalive()
    }
    try {
      this.#channel.pause()
    } catch (err) {
      this.#fail(err as Error)
      return
    }
    this.#components.inbox.whenSpace(this.#resume)
  }

  readonly #resume = (): void => {
    this.#paused = false
    if (this.#closed || this.#components.inbox.closed) return
    try {
      this.#decoder.resume()
    } catch (err) {
      this.#fail(err as Error)
      return
    }
    this.#scheduleAck()
    if (this.#decoder.stopped) {
      this.#pause()
      return
    }
    if (this.#ended) {
      this.#finishEnd()
      return
    }
    try {
      // may deliver chunks buffered by the transport synchronously, and pause again
      this.#channel.resume()
    } catch (err) {
      this.#fail(err as Error)
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
    this.#ended = true
    // frames held back for a full inbox are delivered first
    if (!this.#decoder.stopped) this.#finishEnd()
  }

  #finishEnd (): void {
    if (this.#decoder.bufferedBytes > 0) {
      this.#fail(new MalformedFrameError(`stream ended inside a frame (${this.#decoder.bufferedBytes} bytes buffered)`))
      return
    }
    // the sender finished cleanly: acknowledge everything, then close our side too
    if (this.#helloSeen) this.#ack()
    this.#channel.close().catch((err: unknown) => { this.#log.debug({ err: String(err) }, 'close after end failed') })
  }

  onClose (err?: Error): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#ackTimer)
    clearTimeout(this.#keepaliveTimer)
    this.#components.onClose(this, err)
  }

  /** Close the channel at once (remote sees a reset). Idempotent. */
  close (reason: Error = new StreamClosedError('receiver closed')): void {
    if (this.#closed) return
    this.#channel.abort(reason)
    // a channel reports its own close; make sure the owner hears of it once even if it does not
    this.onClose(reason)
  }
}
