import { DropOldestQueue } from './drop-oldest-queue.ts'
import { MalformedFrameError, StreamClosedError } from './errors.ts'
import { FrameDecoder } from './frame-codec.ts'
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

  constructor (components: ReceiverComponents, config: ReceiverConfig, channel: Channel, member?: { nodeId: string, counters: ReceiveCounters }) {
    this.identity = channel.remoteIdentity
    this.#channel = channel
    this.#components = components
    this.#log = components.logger
    this.#decoder = new FrameDecoder(config.maxFrameBytes, this.#onFrame)
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

  onData (data: Bytes): void {
    if (this.#closed) return
    try {
      this.#decoder.push(data)
    } catch (err) {
      this.#fail(err as Error)
      return
    }
    if (this.#decoder.stopped) this.#pause()
  }

  /** Stop reading until the inbox has room; what was already read waits in the decoder. */
  #pause (): void {
    if (this.#paused || this.#closed) return
    this.#paused = true
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
    this.#log.warn({ reason: err.message, err: err.name }, 'closing inbound stream')
    this.close(err)
  }

  onDrain (): void {}
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
    // the sender finished cleanly: close our side too
    this.#channel.close().catch((err: unknown) => { this.#log.debug({ err: String(err) }, 'close after end failed') })
  }

  onClose (err?: Error): void {
    if (this.#closed) return
    this.#closed = true
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
