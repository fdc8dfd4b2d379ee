import { StreamClosedError } from './errors.ts'
import { ReverseDecoder } from './link-protocol.ts'
import type { Clock } from './clock.ts'
import type { Answer } from './link-protocol.ts'
import type { Bytes, Channel, ChannelHandler } from './transport.ts'

export interface OutboundLinkEvents {
  /** The receiver answered the hello. */
  onAnswer: (answer: Answer) => void
  /** An ack of one lane; returns true when it shows progress (more acknowledged, or the lane is held: no credit). */
  onAck: (lane: number, next: number, partialBytes: number, credit: number, held: boolean) => boolean
  /** The channel closed, or drained: the writer may go on. */
  onWake: () => void
}

/**
 * The writer's view of one dialed channel: reads the receiver's answer and
 * acks on the reverse direction and hands them to the Dispatcher, and keeps
 * what the keepalive needs (when the receiver was last heard, and last
 * showed progress). One per connection, so events from a channel that has
 * been replaced cannot reach the next one.
 *
 * Drain is awaited as the next `onDrain` event, never through a cached
 * promise: a promise handed out once and resolved by the first drain gives
 * backpressure only once (seen with libp2p's `onDrain()`).
 */
export class OutboundLink implements ChannelHandler {
  readonly channel: Channel
  readonly openedAtMs: number
  closed = false
  error?: Error
  answered = false
  /** When anything was last heard from the receiver (ms since epoch). */
  lastHeardMs: number
  /**
   * When the receiver last showed progress: acknowledged more, or said a lane
   * is held for a full inbox, or (for a sender that had nothing outstanding)
   * when writing started again. A receiver that keeps acking without progress
   * while messages are outstanding does not get them: a one-way cut.
   */
  lastProgressMs: number
  readonly #clock: Clock
  readonly #events: OutboundLinkEvents
  readonly #reverse: ReverseDecoder
  #drainResolve?: () => void
  #drainReject?: (err: Error) => void

  constructor (channel: Channel, lanes: number, clock: Clock, events: OutboundLinkEvents) {
    this.channel = channel
    this.#clock = clock
    this.openedAtMs = this.lastHeardMs = this.lastProgressMs = clock.now()
    this.#events = events
    this.#reverse = new ReverseDecoder(lanes, {
      onAnswer: (answer) => {
        this.answered = true
        this.lastProgressMs = this.lastHeardMs
        events.onAnswer(answer)
      },
      onAck: (lane, next, partialBytes, credit, held) => {
        if (events.onAck(lane, next, partialBytes, credit, held)) this.lastProgressMs = this.lastHeardMs
      }
    })
    channel.setHandler(this)
  }

  /** Write a batch. Throws when the channel is closed. */
  send (data: Bytes, nothingOutstanding: boolean): boolean {
    if (nothingOutstanding) this.lastProgressMs = this.#clock.now()
    return this.channel.send(data)
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

  onData (data: Bytes): void {
    if (this.closed) return
    this.lastHeardMs = this.#clock.now()
    try {
      this.#reverse.push(data)
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
    this.#events.onWake()
  }
}
