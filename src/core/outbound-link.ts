import { StreamClosedError } from './errors.ts'
import type { Bytes, Channel, ChannelHandler } from './transport.ts'

/**
 * The writer's view of one dialed channel: forwards its events to the
 * Dispatcher that owns it. One per connection, so events from a channel that
 * has been replaced cannot reach the next one.
 *
 * Drain is awaited as the next `onDrain` event, never through a cached
 * promise: a promise handed out once and resolved by the first drain gives
 * backpressure only once (seen with libp2p's `onDrain()`).
 */
export class OutboundLink implements ChannelHandler {
  readonly channel: Channel
  closed = false
  error?: Error
  /** Messages sent since the channel last reported its write buffer empty. */
  unflushedMessages = 0
  readonly #onClosed: () => void
  #drainResolve?: () => void
  #drainReject?: (err: Error) => void

  constructor (channel: Channel, onClosed: () => void) {
    this.channel = channel
    this.#onClosed = onClosed
    channel.setHandler(this)
  }

  send (data: Bytes, messages: number): boolean {
    const more = this.channel.send(data)
    this.unflushedMessages += messages
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

  onData (): void {
    // nothing is expected on the reading side of an outbound channel
  }

  onDrain (): void {
    const resolve = this.#drainResolve
    this.#settle()
    resolve?.()
  }

  onIdle (): void {
    this.unflushedMessages = 0
  }

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
