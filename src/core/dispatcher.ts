import { Backoff, delay } from './backoff.ts'
import { DropOldestQueue } from './drop-oldest-queue.ts'
import { FRAME_REFERENCE_MIN_BYTES } from './constants.ts'
import { DeliveryLedger } from './delivery-ledger.ts'
import { PeerUnresponsiveError } from './errors.ts'
import { encodeFrameList } from './frame-codec.ts'
import { encodeHelloFrame, newIncarnation } from './link-protocol.ts'
import { OutboundLink } from './outbound-link.ts'
import type { Logger } from './logger.ts'
import type { Ticker } from './ticker.ts'
import type { LinkState, SendCounters, SendOutcome } from './peer-stats.ts'
import type { Bytes, Channel, Transport } from './transport.ts'

export interface DispatcherComponents {
  transport: Transport
  logger: Logger
  /** Called after every state change (the module counts open links and reports changes). */
  onStateChange: (nodeId: string, state: LinkState) => void
  /** Runs the keepalive check of every open link, every `keepaliveTimeoutMs / 3`. */
  keepaliveTicker: Ticker
}

export interface DispatcherConfig {
  nodeId: string
  address: string
  queueCapacity: number
  queueMaxBytes: number
  coalesceBytes: number
  reconnectInitialDelayMs: number
  reconnectMaxDelayMs: number
  dialTimeoutMs: number
  /** How long the first dial waits for the member's own stream (see `yieldFirstDial`). */
  dialYieldMs: number
  /**
   * The member dials first (its identity sorts lower): wait up to
   * `dialYieldMs` for its stream before the first dial, whose connection the
   * transport may then reuse.
   */
  yieldFirstDial: boolean
  keepaliveTimeoutMs: number
  idleKeepaliveIntervalMs: number
  /** How long `close()` lets queued bytes in the write buffer go out. */
  closeGraceMs: number
}

export type DispatcherState =
  | { t: 'connecting' }
  | { t: 'open', link: OutboundLink }
  | { t: 'backoff', until: number }
  | { t: 'closed' }

/**
 * Sends to one remote member. `enqueue()` never blocks and never fails: the
 * queue drops its oldest message when full. A background loop dials, writes
 * everything queued as one coalesced `send()` (up to `coalesceBytes`), waits
 * for drain when the channel asks, and on any failure redials with capped
 * exponential backoff and jitter, keeping the queue and the batch that was
 * being written.
 *
 * Every stream starts with a hello (see link-protocol.ts); the receiver's
 * acks settle the ledger (acknowledged, lost, unconfirmed) and keep the link
 * alive: a link silent for `keepaliveTimeoutMs` is dropped and redialed.
 */
export class Dispatcher {
  readonly nodeId: string
  #address: string
  readonly #components: DispatcherComponents
  readonly #config: DispatcherConfig
  readonly #log: Logger
  readonly #queue: DropOldestQueue<Uint8Array>
  readonly #batch: Uint8Array[]
  readonly #backoff: Backoff
  readonly #abort = new AbortController()
  #attempt = new AbortController()
  #state: DispatcherState = { t: 'connecting' }
  #wake?: () => void
  /** A batch taken from the queue and not yet accepted by a channel. */
  #pending?: Bytes
  #pendingMessages = 0
  #pendingBytes = 0
  readonly #incarnation = newIncarnation()
  readonly #ledger = new DeliveryLedger()
  #sentBytes = 0
  #discarded = 0
  #reconnects = 0
  #lastError?: string
  /** Aborted once the member's own stream has arrived (its connection may carry ours too). */
  readonly #peerArrived = new AbortController()
  readonly #loop: Promise<void>

  constructor (components: DispatcherComponents, config: DispatcherConfig) {
    this.nodeId = config.nodeId
    this.#address = config.address
    this.#components = components
    this.#config = config
    this.#log = components.logger
    this.#queue = new DropOldestQueue(config.queueCapacity, config.queueMaxBytes)
    this.#batch = new Array(config.queueCapacity)
    this.#backoff = new Backoff(config.reconnectInitialDelayMs, config.reconnectMaxDelayMs)
    this.#loop = this.#run()
  }

  get address (): string { return this.#address }
  get state (): DispatcherState { return this.#state }
  get isOpen (): boolean { return this.#state.t === 'open' }

  /** Queue a payload; the dispatcher owns it from now on. */
  enqueue (payload: Uint8Array): SendOutcome {
    const dropped = this.#queue.push(payload)
    const wake = this.#wake
    if (wake !== undefined) {
      this.#wake = undefined
      wake()
    }
    return dropped === 0 ? 'queued' : 'dropped-oldest'
  }

  /** Point the dispatcher at a new address: the current connection is dropped and redialed at once. */
  setAddress (address: string): void {
    if (address === this.#address) return
    this.#address = address
    this.#log.info({ address }, 'address changed, redialing')
    this.#attempt.abort()
  }

  /** The member's own stream arrived: a first dial waiting for it goes ahead. */
  peerDialed (): void {
    this.#peerArrived.abort()
  }

  counters (): SendCounters & { state: LinkState, reconnects: number, lastError?: string } {
    return {
      state: this.#state.t,
      queued: this.#queue.length + this.#pendingMessages,
      queuedBytes: this.#queue.byteLength + this.#pendingBytes,
      sentMessages: this.#ledger.written,
      sentBytes: this.#sentBytes,
      droppedMessages: this.#queue.dropped,
      droppedBytes: this.#queue.droppedBytes,
      acknowledgedMessages: this.#ledger.acknowledged,
      lostInFlightMessages: this.#ledger.lost,
      unconfirmedMessages: this.#ledger.unconfirmed,
      discardedMessages: this.#discarded,
      reconnects: this.#reconnects,
      lastError: this.#lastError
    }
  }

  /** Stop the loop and close the connection; queued messages are discarded (and counted). Idempotent. */
  async close (): Promise<void> {
    if (!this.#abort.signal.aborted) {
      this.#abort.abort()
      this.#attempt.abort()
      this.#wakeUp()
    }
    await this.#loop
  }

  #setState (state: DispatcherState): void {
    const changed = state.t !== this.#state.t
    this.#state = state
    if (changed) this.#components.onStateChange(this.nodeId, state.t)
  }

  #wakeUp = (): void => {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  #recordError (err: unknown, what: string): void {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    this.#lastError = message
    this.#log.debug({ address: this.#address, err: message }, what)
  }

  async #run (): Promise<void> {
    const closing = this.#abort.signal
    let connectedBefore = false
    if (this.#config.yieldFirstDial) await this.#yieldToPeer(this.#attempt.signal)
    while (!closing.aborted) {
      if (this.#attempt.signal.aborted) this.#attempt = new AbortController()
      const attempt = this.#attempt.signal
      this.#setState({ t: 'connecting' })
      let channel: Channel
      try {
        channel = await this.#components.transport.dial(this.#address, {
          signal: AbortSignal.any([attempt, AbortSignal.timeout(this.#config.dialTimeoutMs)])
        })
      } catch (err) {
        if (closing.aborted) break
        this.#recordError(err, 'dial failed')
        await this.#pause(attempt)
        continue
      }
      if (connectedBefore) this.#reconnects++
      connectedBefore = true
      const link = new OutboundLink(channel, this.#wakeUp, this.#ledger)
      try {
        link.channel.send(encodeHelloFrame(this.#incarnation, this.#ledger.written))
      } catch (err) {
        this.#recordError(err, 'hello failed')
        channel.abort(err as Error)
        await this.#pause(attempt)
        continue
      }
      this.#setState({ t: 'open', link })
      this.#log.debug({ address: this.#address }, 'connected')
      await this.#pump(link, attempt)
      if (closing.aborted) {
        await this.#closeGracefully(link)
        break
      }
      // what was in flight is settled by the next stream's hello
      if (link.closed) this.#recordError(link.error, 'connection lost')
      else channel.abort(new Error('redialing'))
      await this.#pause(attempt)
    }
    this.#discarded += this.#queue.clear() + this.#pendingMessages
    this.#pending = undefined
    this.#pendingMessages = 0
    this.#pendingBytes = 0
    this.#setState({ t: 'closed' })
  }

  /** Wait up to `dialYieldMs` for the member's own stream; an address change or close ends the wait. */
  async #yieldToPeer (attempt: AbortSignal): Promise<void> {
    await delay(this.#config.dialYieldMs, AbortSignal.any([attempt, this.#peerArrived.signal]))
  }

  /** Back off before the next dial; skipped when the attempt was aborted (address change, close). */
  async #pause (attempt: AbortSignal): Promise<void> {
    if (attempt.aborted) return
    const ms = this.#backoff.next()
    this.#setState({ t: 'backoff', until: Date.now() + ms })
    await delay(ms, attempt)
  }

  /** Half-close so the write buffer goes out; reset if that takes longer than `closeGraceMs`. */
  async #closeGracefully (link: OutboundLink): Promise<void> {
    if (link.closed) return
    const grace = new AbortController()
    const closed = await Promise.race([
      link.channel.close().then(() => true, (err: unknown) => { this.#recordError(err, 'graceful close failed'); return false }),
      delay(this.#config.closeGraceMs, grace.signal).then(() => false)
    ])
    grace.abort()
    if (!closed) link.channel.abort(new Error('dispatcher closed'))
  }

  /** Write until the link breaks or `attempt` aborts. Never throws. */
  async #pump (link: OutboundLink, attempt: AbortSignal): Promise<void> {
    const onAbort = this.#wakeUp
    attempt.addEventListener('abort', onAbort)
    const timeoutMs = this.#config.keepaliveTimeoutMs
    const ticker = this.#components.keepaliveTicker
    const checkMs = ticker.periodMs
    const progressGraceMs = timeoutMs / 2
    const silenceMs = 3 * this.#config.idleKeepaliveIntervalMs
    let lastCheck = Date.now()
    const stopKeepalive = ticker.add(() => {
      const now = Date.now()
      // a late check means this process was stalled, not the peer silent: what
      // arrived meanwhile is read after the timers, so the stall does not count
      const late = now - lastCheck - checkMs
      lastCheck = now
      if (late > checkMs) {
        link.lastHeardMs += late
        link.lastProgressMs += late
      }
      if (link.closed) return
      const silentMs = now - link.lastHeardMs
      const stuckMs = this.#ledger.unconfirmed > 0 ? now - link.lastProgressMs : 0
      // a one-way cut: acks come back but stopped advancing; the oldest message
      // outstanding is older than the timeout and the last progress is not recent
      const oldest = link.oldestUnacknowledgedMs
      const oneWay = oldest !== undefined && now - oldest > timeoutMs && stuckMs > progressGraceMs
      if (silentMs <= silenceMs && stuckMs <= timeoutMs && !oneWay) return
      const reason = silentMs > silenceMs
        ? `nothing heard from the peer for ${silentMs} ms`
        : `the peer acknowledged none of ${this.#ledger.unconfirmed} messages for ${stuckMs} ms without saying it is paused`
      this.#log.info({ address: this.#address, silentMs, stuckMs }, 'peer unresponsive, dropping the connection')
      link.channel.abortConnection(new PeerUnresponsiveError(reason))
    })
    try {
      while (!link.closed && !attempt.aborted) {
        if (this.#pending === undefined) {
          if (this.#queue.length === 0) {
            await new Promise<void>(resolve => { this.#wake = resolve })
            continue
          }
          this.#takeBatch()
        }
        let more: boolean
        try {
          more = link.send(this.#pending as Bytes, this.#pendingMessages)
        } catch (err) {
          // not written: the batch stays pending for the next connection
          this.#recordError(err, 'send failed')
          return
        }
        this.#sentBytes += this.#pendingBytes
        this.#pending = undefined
        this.#pendingMessages = 0
        this.#pendingBytes = 0
        this.#backoff.reset()
        if (!more) {
          try {
            await link.waitForDrain(attempt)
          } catch {
            return
          }
        }
      }
    } finally {
      stopKeepalive()
      attempt.removeEventListener('abort', onAbort)
      this.#wake = undefined
    }
  }

  #takeBatch (): void {
    const queue = this.#queue
    const batch = this.#batch
    const cap = this.#config.coalesceBytes
    let count = 0
    let bytes = 0
    do {
      const payload = queue.shift() as Uint8Array
      batch[count++] = payload
      bytes += payload.byteLength
    } while (queue.length > 0 && bytes + (queue.peek() as Uint8Array).byteLength <= cap)
    this.#pending = encodeFrameList(batch, count, FRAME_REFERENCE_MIN_BYTES)
    batch.fill(undefined as unknown as Uint8Array, 0, count)
    this.#pendingMessages = count
    this.#pendingBytes = bytes
  }
}
