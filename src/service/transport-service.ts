import { TransportService } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import { fastUnary } from './api-server.ts'
import { UnknownLaneError } from '../core/errors.ts'
import { ALL_LANES } from '../core/lanes.ts'
import { compactPayload } from './compact-payload.ts'
import { DaemonStoppingError, InvalidRequestError, toConnectError } from './errors.ts'
import { whenResponseEnds } from './response-outcome.ts'
import { toStatusResponse } from './status.ts'
import { watchPeers } from './watch-peers.ts'
import type { ServiceCounters } from './status.ts'
import type { NetworkModule } from '../core/network-module.ts'
import type { ReceivedMessage } from '../core/inbox.ts'
import type { GetInfoResponseSchema, OutboundMessage, PullRequest, ReceiveRequest, SendRequest, SendResponseSchema } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import type { MessageInitShape } from '@bufbuild/protobuf'
import type { ConnectRouter, HandlerContext, ServiceImpl } from '@connectrpc/connect'
import type { FastUnaryMethod } from './api-server.ts'

/** Messages per Receive response when the request does not say. */
export const DEFAULT_RECEIVE_BATCH = 256
/** Cap of messages per Receive response. */
export const MAX_RECEIVE_BATCH = 8192
/** Payload bytes per Receive response (one message may exceed it alone). */
export const RECEIVE_BATCH_BYTES = 4 * 1024 * 1024
/** Longest a Pull waits for a first message; larger `wait_ms` are capped. */
export const MAX_PULL_WAIT_MS = 60_000
/** Largest `min_connected` AwaitConnections accepts. */
export const MAX_MIN_CONNECTED = 100_000

export interface TransportServiceOptions {
  /** Aborted when the daemon stops: Receive streams then end cleanly, a waiting Pull fails with UNAVAILABLE. */
  stopping: AbortSignal
}

interface Counts {
  queued: number
  droppedOldest: number
}

/**
 * The RPC handlers of mirnet.v1.TransportService: each validates its request,
 * calls the core, and maps errors to codes (in errors.ts, nowhere else).
 */
export class TransportServiceHandlers {
  readonly counters: ServiceCounters = { deliveredMessages: 0, abandonedMessages: 0, receiveStreams: 0 }
  readonly #net: NetworkModule
  readonly #stopping: AbortSignal
  /**
   * The lane number of each message of the request being handled, filled by
   * `#validate` and read by `#queue` right after it (both synchronous, so one
   * array serves every call).
   */
  readonly #lanes: number[] = []

  constructor (net: NetworkModule, options: TransportServiceOptions) {
    this.#net = net
    this.#stopping = options.stopping
  }

  register (router: ConnectRouter): void {
    router.service(TransportService, this.#impl())
  }

  /** Send is the hot unary call: its binary gRPC calls skip connect's pipeline (ApiServerOptions.fastUnary). */
  fastUnary (): FastUnaryMethod[] {
    return [fastUnary(TransportService.method.send, req => this.#call(undefined, () => this.#send(req)))]
  }

  #send (req: SendRequest): MessageInitShape<typeof SendResponseSchema> {
    const counts: Counts = { queued: 0, droppedOldest: 0 }
    this.#validate(req.messages)
    this.#queue(req.messages, counts)
    return { queued: BigInt(counts.queued), droppedOldest: BigInt(counts.droppedOldest) }
  }

  #impl (): ServiceImpl<typeof TransportService> {
    const net = this.#net
    return {
      getInfo: () => this.#info(),
      connect: (req, ctx) => this.#call(ctx, () => net.connect(req.nodes)),
      send: (req, ctx) => this.#call(ctx, () => this.#send(req)),
      sendStream: async (requests, ctx) => {
        const counts: Counts = { queued: 0, droppedOldest: 0 }
        let n = 0
        try {
          for await (const req of requests) {
            n++
            this.#validate(req.messages)
            this.#queue(req.messages, counts)
          }
        } catch (err) {
          throw toConnectError(err, ctx.signal)
        }
        return { queued: BigInt(counts.queued), droppedOldest: BigInt(counts.droppedOldest), requests: BigInt(n) }
      },
      receive: (req, ctx) => this.#receive(req, ctx),
      pull: async (req, ctx) => ({ messages: await this.#pull(req, ctx) }),
      watchPeers: (_req, ctx) => watchPeers(net, AbortSignal.any([ctx.signal, this.#stopping])),
      awaitConnections: async (req, ctx) => {
        const n = req.minConnected
        if (n < 1 || n > MAX_MIN_CONNECTED) {
          throw toConnectError(new InvalidRequestError(`min_connected must be between 1 and ${MAX_MIN_CONNECTED}, got ${n}`))
        }
        try {
          await net.waitFor(n, { signal: ctx.signal })
        } catch (err) {
          throw toConnectError(err, ctx.signal)
        }
        return { connected: net.connectedCount() }
      },
      getStatus: () => toStatusResponse(net.stats(), this.counters)
    }
  }

  #info (): MessageInitShape<typeof GetInfoResponseSchema> {
    const net = this.#net
    const { lanes, defaultLane } = net.config
    return {
      nodeId: net.nodeId,
      peerId: net.identity,
      listenAddresses: net.listenAddresses(),
      maxPayloadBytes: BigInt(net.config.maxFrameBytes),
      lanes: lanes.map(l => ({
        name: l.name,
        number: l.number,
        strict: l.strict,
        weight: l.weight,
        queueMessages: BigInt(l.queueCapacity),
        queueBytes: BigInt(l.queueMaxBytes),
        windowMessages: BigInt(l.windowMessages),
        windowBytes: BigInt(l.windowBytes)
      })),
      defaultLane: lanes[defaultLane].name
    }
  }

  /** The number of lane `name` (`''`: the default lane); an unknown lane is an invalid `field`. */
  #laneNumber (name: string, field: string): number {
    try {
      return this.#net.laneNumber(name)
    } catch (err) {
      if (err instanceof UnknownLaneError) throw new InvalidRequestError(`${field}: ${err.message}`, { cause: err })
      throw err
    }
  }

  #call<T> (ctx: HandlerContext | undefined, fn: () => T): T {
    try {
      return fn()
    } catch (err) {
      throw toConnectError(err, ctx?.signal)
    }
  }

  /**
   * Check a whole batch before queueing any of it: nothing is queued from a
   * bad request. Resolves each message's lane into `#lanes`, once per message.
   */
  #validate (messages: OutboundMessage[]): void {
    const net = this.#net
    const max = net.config.maxFrameBytes
    const lanes = this.#lanes
    const defaultLane = net.config.defaultLane
    lanes.length = messages.length
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]
      const destinations = m.destinations
      if (destinations.length === 0) throw new InvalidRequestError(`messages[${i}] has no destinations`)
      if (m.payload.byteLength > max) {
        throw new InvalidRequestError(`messages[${i}]: payload of ${m.payload.byteLength} bytes exceeds the maximum of ${max} bytes`)
      }
      lanes[i] = m.lane === '' ? defaultLane : this.#laneNumber(m.lane, `messages[${i}]`)
      for (let j = 0; j < destinations.length; j++) {
        const d = destinations[j]
        if (d.length === 0) throw new InvalidRequestError(`messages[${i}].destinations[${j}] is empty`)
        // a message queued twice for one member would be delivered twice: refuse it (lists are short)
        for (let k = 0; k < j; k++) {
          if (destinations[k] === d) throw new InvalidRequestError(`messages[${i}].destinations[${j}]: destination "${d}" is listed twice`)
        }
      }
      net.assertMembers(destinations)
    }
  }

  /** Queue a batch `#validate` has just checked, each message on its lane. */
  #queue (messages: OutboundMessage[], counts: Counts): void {
    const net = this.#net
    const lanes = this.#lanes
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]
      const payload = compactPayload(m.payload)
      const lane = lanes[i]
      // sendTo per destination rather than send(): no outcome array per message
      for (const d of m.destinations) {
        if (net.sendTo(d, payload, lane) === 'dropped-oldest') counts.droppedOldest++
        counts.queued++
      }
    }
  }

  /** The mask of the lanes a Receive asks for (none: every lane). */
  #receiveMask (names: readonly string[]): number {
    if (names.length === 0) return ALL_LANES
    let mask = 0
    for (let i = 0; i < names.length; i++) mask |= 1 << this.#laneNumber(names[i], `lanes[${i}]`)
    return mask
  }

  /** Messages per response as a Receive or Pull asks (0: the default), capped. */
  #batchSize (requested: number): number {
    return requested === 0 ? DEFAULT_RECEIVE_BATCH : Math.min(requested, MAX_RECEIVE_BATCH)
  }

  /**
   * Take what the lanes asked for hold, up to the request's limits; when they
   * hold nothing, wait up to `wait_ms` for a message and take then. Nothing
   * is taken before it can be returned: a call that ends while waiting
   * (cancelled, deadline, daemon stopping) takes nothing. What was taken
   * counts as delivered when handed to connect-node, and as abandoned too
   * when the response then fails to reach the client whole.
   */
  async #pull (req: PullRequest, ctx: HandlerContext): Promise<ReceivedMessage[]> {
    try {
      const mask = this.#receiveMask(req.lanes)
      const max = this.#batchSize(req.maxMessages)
      const inbox = this.#net.inbox
      ctx.signal.throwIfAborted()
      let messages = inbox.take(max, RECEIVE_BATCH_BYTES, mask)
      const waitMs = Math.min(req.waitMs, MAX_PULL_WAIT_MS)
      if (messages.length === 0 && waitMs > 0) {
        if (!await this.#waitForPull(mask, waitMs, ctx.signal)) return messages
        // the call may have ended while the wait's continuation was queued: then take nothing
        ctx.signal.throwIfAborted()
        messages = inbox.take(max, RECEIVE_BATCH_BYTES, mask)
      }
      const n = messages.length
      if (n > 0) {
        const counters = this.counters
        counters.deliveredMessages += n
        whenResponseEnds(ctx, whole => { if (!whole) counters.abandonedMessages += n })
      }
      return messages
    } catch (err) {
      throw toConnectError(err, ctx.signal)
    }
  }

  /**
   * True once the lanes of `mask` hold a message, false when `waitMs` passed
   * first. Throws when the call ends (its signal's reason) or the daemon stops
   * (`DaemonStoppingError`) first.
   */
  async #waitForPull (mask: number, waitMs: number, callSignal: AbortSignal): Promise<boolean> {
    // a timer cleared when the wait ends: AbortSignal.timeout would hold each call's signal for the whole wait_ms
    const timeout = new AbortController()
    const timer = setTimeout(() => { timeout.abort() }, waitMs)
    try {
      if (await this.#net.inbox.wait(AbortSignal.any([callSignal, this.#stopping, timeout.signal]), mask)) return true
    } catch (err) {
      callSignal.throwIfAborted()
      if (this.#stopping.aborted) throw new DaemonStoppingError('the daemon is shutting down', { cause: err })
      if (timeout.signal.aborted) return false
      throw err
    } finally {
      clearTimeout(timer)
    }
    // the inbox closed, holding nothing for these lanes
    throw new DaemonStoppingError('the daemon is shutting down')
  }

  async * #receive (req: ReceiveRequest, ctx: HandlerContext): AsyncGenerator<{ messages: ReceivedMessage[] }> {
    let laneMask: number
    try {
      laneMask = this.#receiveMask(req.lanes)
    } catch (err) {
      throw toConnectError(err, ctx.signal)
    }
    const batchSize = this.#batchSize(req.maxBatchMessages)
    const inbox = this.#net.inbox
    const counters = this.counters
    const signal = AbortSignal.any([ctx.signal, this.#stopping])
    /** Taken from the inbox, not yet handed to the stream. */
    let unwritten = 0
    /** The last batch handed to the stream: lost if the client cancels now. */
    let lastWritten = 0
    counters.receiveStreams++
    try {
      for (;;) {
        try {
          if (!await inbox.wait(signal, laneMask)) return
        } catch (err) {
          if (this.#stopping.aborted) return
          throw toConnectError(err, ctx.signal)
        }
        // the inbox's messages carry their lane's name: they are the response's messages as they are
        const messages = inbox.take(batchSize, RECEIVE_BATCH_BYTES, laneMask)
        unwritten = messages.length
        yield { messages }
        // resumed: the batch was handed to the HTTP/2 stream
        counters.deliveredMessages += unwritten
        lastWritten = unwritten
        unwritten = 0
      }
    } finally {
      counters.receiveStreams--
      const cancelledByClient = ctx.signal.aborted && !this.#stopping.aborted
      counters.abandonedMessages += unwritten + (cancelledByClient ? lastWritten : 0)
    }
  }
}
