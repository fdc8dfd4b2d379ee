import { StreamClosedError } from './errors.ts'
import { AckDecoder, decodeProgress } from './link-protocol.ts'
import type { DeliveryLedger } from './delivery-ledger.ts'
import type { Bytes, Channel, ChannelHandler } from './transport.ts'

/**
 * The writer's view of one dialed channel: forwards its events to the
 * Dispatcher that owns it, and reads the receiver's answers on the reverse
 * direction into the Dispatcher's ledger. One per connection, so events from
 * a channel that has been replaced cannot reach the next one.
 *
 * Drain is awaited as the next `onDrain` event, never through a cached
 * promise: a promise handed out once and resolved by the first drain gives
 * backpressure only once (seen with libp2p's `onDrain()`).
 */
export class OutboundLink implements ChannelHandler {
  readonly channel: Channel
  closed = false
  error?: Error
  /** When anything was last heard from the receiver (ms since epoch). */
  lastHeardMs = Date.now()
  /**
   * When the receiver last showed progress: acknowledged more, or said it is
   * paused for a full inbox, or (for a sender that had nothing outstanding)
   * when writing started again. A receiver that keeps acking without progress
   * while messages are outstanding does not get them: a one-way cut.
   */
  lastProgressMs = Date.now()
  #lastReceived = -1
  /** Batches written and not yet acknowledged: end sequence number and write time, oldest at `#head`. */
  readonly #batchEnd: number[] = []
  readonly #batchAtMs: number[] = []
  #head = 0
  readonly #onClosed: () => void
  readonly #ledger: DeliveryLedger
  /** Sequence number of the first message written on this link. */
  readonly #firstSequence: number
  readonly #acks: AckDecoder
  #resumed = false
  #drainResolve?: () => void
  #drainReject?: (err: Error) => void

  constructor (channel: Channel, onClosed: () => void, ledger: DeliveryLedger) {
    this.channel = channel
    this.#onClosed = onClosed
    this.#ledger = ledger
    this.#firstSequence = ledger.written
    this.#acks = new AckDecoder(this.#onAck)
    channel.setHandler(this)
  }

  /** Write a batch of `messages` frames; they take the next sequence numbers. */
  send (data: Bytes, messages: number): boolean {
    const now = Date.now()
    if (this.#ledger.unconfirmed === 0) this.lastProgressMs = now
    const more = this.channel.send(data)
    this.#ledger.written += messages
    this.#batchEnd.push(this.#ledger.written)
    this.#batchAtMs.push(now)
    return more
  }

  /** When the oldest message written on this link and not yet acknowledged was written; undefined if none. */
  get oldestUnacknowledgedMs (): number | undefined {
    return this.#head < this.#batchAtMs.length ? this.#batchAtMs[this.#head] : undefined
  }

  #acknowledgeBatches (received: number): void {
    const ends = this.#batchEnd
    while (this.#head < ends.length && ends[this.#head] <= received) this.#head++
    if (this.#head > 1024 && this.#head * 2 > ends.length) {
      ends.splice(0, this.#head)
      this.#batchAtMs.splice(0, this.#head)
      this.#head = 0
    }
  }

  /** Resolves on the next drain; rejects when the channel closes or `signal` aborts. */
  async waitForDrain (signal: AbortSignal): Promise<void> {
    if (this.closed) throw this.error ?? new StreamClosedError('stream closed')
    signal.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { this.#settle(); reject(signal.reason) }
      this.#drainResolve = () => { signal.removeEventListener('abort', onAbort); resolve() }
      this.#drainReject = (err) => { signal.removeEventListener('abort', onAbort); reject(err) }
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  #settle (): void {
    this.#drainResolve = undefined
    this.#drainReject = undefined
  }

  readonly #onAck = (value: number): void => {
    if (this.#resumed) {
      const { received, paused } = decodeProgress(value)
      if (received > this.#lastReceived || paused) {
        this.#lastReceived = received
        this.lastProgressMs = this.lastHeardMs
      }
      this.#ledger.ack(received)
      this.#acknowledgeBatches(received)
      return
    }
    this.#resumed = true
    this.lastProgressMs = this.lastHeardMs
    this.#ledger.resume(this.#firstSequence, value === 0 ? undefined : value - 1)
  }

  onData (data: Bytes): void {
    if (this.closed) return
    this.lastHeardMs = Date.now()
    try {
      this.#acks.push(data)
    } catch (err) {
      this.channel.abort(err as Error)
    }
  }

  onDrain (): void {
    const resolve = this.#drainResolve
    this.#settle()
    resolve?.()
  }

  onIdle (): void {}

  onEnd (): void {}

  onClose (err?: Error): void {
    if (this.closed) return
    this.closed = true
    this.error = err ?? new StreamClosedError('stream closed by the remote end')
    const reject = this.#drainReject
    this.#settle()
    reject?.(this.error)
    this.#onClosed()
  }
}
