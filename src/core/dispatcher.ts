import { Backoff, delay, timeoutSignal } from './backoff.ts'
import { FRAME_REFERENCE_MIN_BYTES, STRICT_BURST_BYTES } from './constants.ts'
import { PeerUnresponsiveError } from './errors.ts'
import { FramePlan } from './frame-codec.ts'
import { stalledMs, unresponsiveReason } from './keepalive.ts'
import { LaneScheduler } from './lane-scheduler.ts'
import { encodeHelloFrame, encodeResumeFrame, newIncarnation } from './link-protocol.ts'
import { OutboundLink } from './outbound-link.ts'
import { SendLane } from './send-lane.ts'
import type { Clock } from './clock.ts'
import type { Lane } from './lanes.ts'
import type { Logger } from './logger.ts'
import type { Ticker } from './ticker.ts'
import type { LinkState, SendCounters, SendOutcome } from './peer-stats.ts'
import type { Channel, Transport } from './transport.ts'
import type { MemberSender } from './member-sender.ts'

export interface DispatcherComponents {
  transport: Transport
  logger: Logger
  /** Called after every state change (the module counts open links and reports changes). */
  onStateChange: (nodeId: string, state: LinkState) => void
  /** Runs the keepalive check of every open link, every `keepaliveTimeoutMs / 3`. */
  keepaliveTicker: Ticker
  /** Time for every timer and clock read (the ticker's clock too). */
  clock: Clock
  /** Random numbers in [0, 1) for the backoff's jitter and the incarnation; Math.random and the system's CSPRNG when not given. */
  random?: () => number
}

export interface DispatcherConfig {
  nodeId: string
  address: string
  lanes: readonly Lane[]
  /** Messages larger than this are written in chunks of this size. */
  chunkBytes: number
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

/** A Dispatcher's counters: totals over its lanes, and per lane. */
export type DispatcherCounters = SendCounters & { state: LinkState, reconnects: number, lastError?: string, lanes: SendCounters[] }

/**
 * Sends to one remote member. `enqueue()` never blocks and never fails: each
 * lane's queue drops its oldest message when full (SendLane). A background
 * loop dials, and on each stream writes the hello, waits for the receiver's
 * answer (what it took of every lane), writes the resume frame (where every
 * lane starts on this stream), then writes what the lanes
 * hold, chunk by chunk, lanes chosen by the LaneScheduler, coalesced into
 * one `send()` of up to `coalesceBytes`, each lane within its window. It
 * waits for drain when the channel asks, and on any failure redials with
 * capped exponential backoff and jitter: what was written and not
 * acknowledged is still held and resent on the next stream.
 *
 * The receiver's acks settle the lanes' counts and keep the link alive: a
 * link silent for too long, or whose acks stop advancing while messages are
 * outstanding, is dropped and redialed.
 */
export class Dispatcher implements MemberSender {
  readonly nodeId: string
  #address: string
  readonly #components: DispatcherComponents
  readonly #config: DispatcherConfig
  readonly #log: Logger
  readonly #lanes: SendLane[]
  readonly #scheduler: LaneScheduler
  readonly #plan = new FramePlan()
  readonly #backoff: Backoff
  readonly #abort = new AbortController()
  #attempt = new AbortController()
  #state: DispatcherState = { t: 'connecting' }
  /** The link being written, from the hello until it breaks; `open` once the receiver answered. */
  #link?: OutboundLink
  #wake?: () => void
  readonly #incarnation: Uint8Array
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
    this.#lanes = config.lanes.map(lane => new SendLane(lane, config.chunkBytes))
    this.#scheduler = new LaneScheduler(config.lanes, config.chunkBytes, STRICT_BURST_BYTES)
    this.#backoff = new Backoff(config.reconnectInitialDelayMs, config.reconnectMaxDelayMs, components.random)
    this.#incarnation = newIncarnation(components.random)
    this.#loop = this.#run()
  }

  get address (): string { return this.#address }
  get state (): DispatcherState { return this.#state }
  get isOpen (): boolean { return this.#state.t === 'open' }

  /** Queue a payload on `lane`; the dispatcher owns it from now on. */
  enqueue (payload: Uint8Array, lane: number): SendOutcome {
    const dropped = this.#lanes[lane].push(payload)
    this.#wakeUp()
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

  counters (): DispatcherCounters {
    const lanes = this.#lanes.map(l => l.stats())
    const total: SendCounters = {
      queued: 0,
      queuedBytes: 0,
      sentMessages: 0,
      sentBytes: 0,
      droppedMessages: 0,
      droppedBytes: 0,
      acknowledgedMessages: 0,
      lostInFlightMessages: 0,
      unconfirmedMessages: 0,
      discardedMessages: 0,
      resentMessages: 0
    }
    for (const l of lanes) {
      for (const key of Object.keys(total) as Array<keyof SendCounters>) total[key] += l[key]
    }
    return { ...total, state: this.#state.t, reconnects: this.#reconnects, lastError: this.#lastError, lanes }
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

  readonly #wakeUp = (): void => {
    const wake = this.#wake
    if (wake === undefined) return
    this.#wake = undefined
    wake()
  }

  readonly #nextSize = (lane: number): number => this.#lanes[lane].nextSize()

  #unconfirmed (): number {
    let n = 0
    for (const l of this.#lanes) n += l.unconfirmed
    return n
  }

  #oldestUnacknowledgedMs (): number | undefined {
    let oldest: number | undefined
    for (const l of this.#lanes) {
      const t = l.oldestUnacknowledgedMs
      if (t !== undefined && (oldest === undefined || t < oldest)) oldest = t
    }
    return oldest
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
      const dialTimeout = timeoutSignal(this.#config.dialTimeoutMs, this.#components.clock)
      try {
        channel = await this.#components.transport.dial(this.#address, {
          signal: AbortSignal.any([attempt, dialTimeout.signal])
        })
      } catch (err) {
        if (closing.aborted) break
        this.#recordError(err, 'dial failed')
        await this.#pause(attempt)
        continue
      } finally {
        dialTimeout.clear()
      }
      if (connectedBefore) this.#reconnects++
      connectedBefore = true
      const link = this.#openLink(channel)
      try {
        for (const lane of this.#lanes) lane.begin()
        link.channel.send(encodeHelloFrame(this.#incarnation, this.#lanes.map(l => l.retainedSeq)))
      } catch (err) {
        this.#recordError(err, 'hello failed')
        channel.abort(err as Error)
        await this.#pause(attempt)
        continue
      }
      this.#link = link
      await this.#pump(link, attempt)
      if (closing.aborted) {
        // the receiver's last acks still count while the write buffer goes out
        await this.#closeGracefully(link)
        this.#endLink()
        break
      }
      this.#endLink()
      // what was written and not acknowledged is resent on the next stream
      if (link.closed) this.#recordError(link.error, 'connection lost')
      else channel.abort(new Error('redialing'))
      await this.#pause(attempt)
    }
    for (const lane of this.#lanes) lane.discard()
    this.#setState({ t: 'closed' })
  }

  /** The link of a new channel; its events reach this Dispatcher only while it is the current link. */
  #openLink (channel: Channel): OutboundLink {
    const lanes = this.#lanes
    const link: OutboundLink = new OutboundLink(channel, lanes.length, this.#components.clock, {
      onAnswer: (answer) => {
        if (this.#link !== link || link.closed) return
        for (let i = 0; i < lanes.length; i++) lanes[i].resume(answer.known, answer.next[i], answer.credit[i])
        try {
          // where each lane starts now: the receiver numbers this stream's messages from here
          link.channel.send(encodeResumeFrame(lanes.map(l => l.retainedSeq)))
        } catch (err) {
          this.#recordError(err, 'resume failed')
          link.channel.abort(err as Error)
          return
        }
        this.#setState({ t: 'open', link })
        this.#log.debug({ address: this.#address }, 'connected')
        this.#wakeUp()
      },
      onAck: (lane, next, partialBytes, credit, held) => {
        if (this.#link !== link) return false
        const l = lanes[lane]
        const before = l.unconfirmed
        const wasHeld = l.held
        l.ack(next, partialBytes, credit, this.#components.clock.now())
        this.#wakeUp()
        return l.unconfirmed < before || held || wasHeld !== held
      },
      onWake: this.#wakeUp
    })
    return link
  }

  /** Wait up to `dialYieldMs` for the member's own stream; an address change or close ends the wait. */
  async #yieldToPeer (attempt: AbortSignal): Promise<void> {
    await delay(this.#config.dialYieldMs, AbortSignal.any([attempt, this.#peerArrived.signal]), this.#components.clock)
  }

  /** Back off before the next dial; skipped when the attempt was aborted (address change, close). */
  async #pause (attempt: AbortSignal): Promise<void> {
    if (attempt.aborted) return
    const ms = this.#backoff.next()
    this.#setState({ t: 'backoff', until: this.#components.clock.now() + ms })
    await delay(ms, attempt, this.#components.clock)
  }

  /** Half-close so the write buffer goes out; reset if that takes longer than `closeGraceMs`. */
  async #closeGracefully (link: OutboundLink): Promise<void> {
    if (link.closed) return
    const grace = new AbortController()
    const closed = await Promise.race([
      link.channel.close().then(() => true, (err: unknown) => { this.#recordError(err, 'graceful close failed'); return false }),
      delay(this.#config.closeGraceMs, grace.signal, this.#components.clock).then(() => false)
    ])
    grace.abort()
    if (!closed) link.channel.abort(new Error('dispatcher closed'))
  }

  /** Keepalive of `link`, run by the node's ticker: drop a connection whose peer stopped answering. */
  #watch (link: OutboundLink): () => void {
    const config = { timeoutMs: this.#config.keepaliveTimeoutMs, idleIntervalMs: this.#config.idleKeepaliveIntervalMs }
    const ticker = this.#components.keepaliveTicker
    const clock = this.#components.clock
    let lastCheck = clock.now()
    return ticker.add(() => {
      const now = clock.now()
      const stall = stalledMs(now, lastCheck, ticker.periodMs)
      lastCheck = now
      link.lastHeardMs += stall
      link.lastProgressMs += stall
      if (link.closed) return
      const reason = unresponsiveReason(now, {
        lastHeardMs: link.lastHeardMs,
        lastProgressMs: link.lastProgressMs,
        answered: link.answered,
        unconfirmed: this.#unconfirmed(),
        oldestUnacknowledgedMs: this.#oldestUnacknowledgedMs()
      }, config)
      if (reason === undefined) return
      this.#log.info({ address: this.#address, silentMs: now - link.lastHeardMs, sinceProgressMs: now - link.lastProgressMs }, 'peer unresponsive, dropping the connection')
      link.channel.abortConnection(new PeerUnresponsiveError(reason))
    })
  }

  /** Write until the link breaks or `attempt` aborts. Never throws. */
  async #pump (link: OutboundLink, attempt: AbortSignal): Promise<void> {
    const onAbort = this.#wakeUp
    attempt.addEventListener('abort', onAbort)
    const stopKeepalive = this.#watch(link)
    const lanes = this.#lanes
    const scheduler = this.#scheduler
    const plan = this.#plan
    const cap = this.#config.coalesceBytes
    try {
      while (!link.closed && !attempt.aborted) {
        if (link.answered) {
          const nothingOutstanding = this.#unconfirmed() === 0
          const now = this.#components.clock.now()
          while (plan.bytes < cap) {
            const lane = scheduler.pick(this.#nextSize)
            if (lane < 0) break
            scheduler.charge(lane, lanes[lane].writeNext(plan, now))
          }
          if (plan.count > 0) {
            let more: boolean
            try {
              more = link.send(plan.encode(FRAME_REFERENCE_MIN_BYTES), nothingOutstanding)
            } catch (err) {
              // not written: still held by the lanes, resent on the next stream
              this.#recordError(err, 'send failed')
              return
            }
            this.#backoff.reset()
            if (!more) {
              try {
                await link.waitForDrain(attempt)
              } catch {
                return
              }
            }
            continue
          }
        }
        await new Promise<void>(resolve => { this.#wake = resolve })
      }
    } finally {
      stopKeepalive()
      attempt.removeEventListener('abort', onAbort)
      this.#wake = undefined
    }
  }

  #endLink (): void {
    this.#link = undefined
    for (const lane of this.#lanes) lane.end()
  }
}
