import { StreamClosedError } from './errors.ts'
import { AckDecoder } from './link-protocol.ts'
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
    const more = this.channel.send(data)
    this.#ledger.written += messages
    return more
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
      this.#ledger.ack(value)
      return
    }
    this.#resumed = true
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
