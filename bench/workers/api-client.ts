/**
 * A client process of the API scenarios, forked by bench/lib/api-workers.ts.
 * It talks to mirnet daemons (or the grpc-js echo server) as a consensus node
 * would, and answers the runner's requests over IPC:
 *
 * - `receive`: open Receive streams and count (and time-stamp) what arrives;
 * - `serveDirect`: also serve TransportService.SendStream itself and count
 *   what arrives there the same way: the baseline of a sender streaming
 *   straight to this process over gRPC, with no daemon in between;
 * - `send` / `stopSend`: a SendStream of batches, windowed by delivery credit;
 * - `paced`: time-stamped messages at a fixed rate (latency);
 * - `unary`: unary calls with a fixed number in flight (grpc-js client).
 *
 * It exits when the runner disconnects.
 */
import { performance } from 'node:perf_hooks'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js'
import { createMirnetClient } from '../../src/client/client.ts'
import { silentLogger } from '../../src/core/logger.ts'
import { ApiServer } from '../../src/service/api-server.ts'
import { SendRequestSchema, SendResponseSchema, SendStreamRequestSchema, TransportService } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import { percentile } from '../lib/stats.ts'
import type { ServiceError } from '@grpc/grpc-js'
import type { MirnetClient } from '../../src/client/client.ts'
import type { InboundMessage, OutboundMessage, SendStreamRequest } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import type { FromWorker, ToWorker } from '../lib/api-workers.ts'

/** How often the receiver reports its delivered count (credit for senders). */
const PROGRESS_INTERVAL_MS = 2
/** Stamp: a float64 time in ms (`clockMs()`) at the start of the payload. */
const STAMP_BYTES = 8

function post (m: FromWorker): void {
  process.send?.(m)
}

/**
 * CLOCK_MONOTONIC in ms: one clock for every process on the host, so a stamp
 * taken by a sender process can be subtracted in a receiver process
 * (`performance.timeOrigin` is read once per process from the wall clock).
 */
function clockMs (): number {
  return Number(process.hrtime.bigint()) / 1e6
}

const clients = new Map<string, MirnetClient>()
function client (api: string): MirnetClient {
  let c = clients.get(api)
  if (c === undefined) {
    c = createMirnetClient(api)
    clients.set(api, c)
  }
  return c
}

// ---------------------------------------------------------------- receiving

interface Receiving {
  abort: AbortController
  perStream: number[]
  total: number
  latencies: number[] | undefined
  /** `[arrival, latency]` of messages slower than `slowMs` (diagnosis: correlate with pauses). */
  slow: Array<[number, number]>
  done: Promise<void>
  timer: NodeJS.Timeout
  /** The direct gRPC server, once `serveDirect` started it. */
  direct?: ApiServer
}

/** Count (and time) `messages` that arrived on stream `i`. */
function take (r: Receiving, i: number, messages: ReadonlyArray<InboundMessage | OutboundMessage>, slowMs: number): void {
  const n = messages.length
  r.perStream[i] += n
  r.total += n
  const lat = r.latencies
  if (lat === undefined) return
  const now = clockMs()
  for (const m of messages) {
    const p = m.payload
    const x = now - new DataView(p.buffer, p.byteOffset, STAMP_BYTES).getFloat64(0, true)
    lat.push(x)
    if (x > slowMs) r.slow.push([now, x])
  }
}

let receiving: Receiving | undefined
/** The delivered count last posted. */
let reported = 0

/** Post the delivered count when it changed: the credit of a windowed sender. */
function reportDelivered (): void {
  const r = receiving
  if (r === undefined || r.total === reported) return
  reported = r.total
  post({ t: 'delivered', total: r.total })
  onLocalCredit?.()
}

/**
 * Turn the delivered reports (a timer every 2 ms, and a message through the
 * runner to the sender) off while nothing needs credit, e.g. while latency is
 * measured at a paced rate, so that they do not take the cores from what is
 * measured; on again for windowed sends.
 */
function credit (args: { on: boolean }): void {
  const r = receiving
  if (r === undefined) throw new Error('not receiving')
  clearInterval(r.timer)
  if (args.on) r.timer = setInterval(reportDelivered, PROGRESS_INTERVAL_MS)
}

function startReceive (args: { apis: string[], maxBatch?: number, latency?: boolean, slowMs?: number }): void {
  if (receiving !== undefined) throw new Error('already receiving')
  const abort = new AbortController()
  const r: Receiving = {
    abort,
    perStream: args.apis.map(() => 0),
    total: 0,
    latencies: args.latency === true ? [] : undefined,
    slow: [],
    done: Promise.resolve(),
    timer: setInterval(reportDelivered, PROGRESS_INTERVAL_MS)
  }
  reported = 0
  const slowMs = args.slowMs ?? Infinity
  r.done = Promise.all(args.apis.map(async (api, i) => {
    try {
      for await (const batch of client(api).receive({ maxBatchMessages: args.maxBatch ?? 0 }, { signal: abort.signal })) {
        take(r, i, batch.messages, slowMs)
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err
    }
  })).then(() => {})
  r.done.catch(() => {}) // observed by stopReceive
  receiving = r
}

/**
 * Serve TransportService.SendStream in this process (connect-node behind
 * mirnet's own API server class: the same HTTP/2 windows and settings as a
 * daemon's API) and count what arrives on it like a Receive stream's
 * messages, as one more stream of `counts`. What a team without mirnet would
 * run: the sender streams straight to the receiving process. Resolves with
 * the address to send to.
 */
async function serveDirect (): Promise<{ api: string }> {
  const r = receiving
  if (r === undefined) throw new Error('not receiving')
  if (r.direct !== undefined) return { api: r.direct.address }
  const i = r.perStream.push(0) - 1
  r.direct = await ApiServer.listen({
    host: '127.0.0.1',
    port: 0,
    readMaxBytes: 64 * 1024 * 1024,
    logger: silentLogger,
    routes: router => {
      router.service(TransportService, {
        sendStream: async (requests: AsyncIterable<SendStreamRequest>) => {
          let queued = 0
          let n = 0
          for await (const req of requests) {
            n++
            queued += req.messages.length
            take(r, i, req.messages, Infinity)
          }
          return { queued: BigInt(queued), requests: BigInt(n) }
        }
      })
    }
  })
  return { api: r.direct.address }
}

async function stopReceive (): Promise<{ total: number, perStream: number[] }> {
  const r = receiving
  if (r === undefined) throw new Error('not receiving')
  receiving = undefined
  clearInterval(r.timer)
  r.abort.abort()
  await r.direct?.close(0)
  await r.done
  return { total: r.total, perStream: r.perStream }
}

function counts (): { total: number, perStream: number[], t: number } {
  const r = receiving
  if (r === undefined) throw new Error('not receiving')
  return { total: r.total, perStream: [...r.perStream], t: performance.now() }
}

function latency (args: { reset?: boolean }): { n: number, p50: number, p99: number, max: number, slow: Array<[number, number]> } {
  const slow = receiving?.slow ?? []
  const lat = receiving?.latencies
  if (lat === undefined) throw new Error('not receiving with latency')
  let max = Number.NaN
  for (const x of lat) if (!(x <= max)) max = x
  const out = { n: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99), max, slow: [...slow] }
  if (args.reset === true) {
    lat.length = 0
    slow.length = 0
  }
  return out
}

// ------------------------------------------------------------------ sending

interface Sending {
  stop: boolean
  sent: number
  result: Promise<{ queued: number, dropped: number, requests: number }>
}

let sending: Sending | undefined
/** Delivered count relayed by the runner, or read from the local receiver. */
let relayedDelivered = 0
let creditWaiter: (() => void) | undefined
let onLocalCredit: (() => void) | undefined

function delivered (local: boolean): number {
  return local ? (receiving?.total ?? 0) : relayedDelivered
}

function wakeSender (): void {
  const w = creditWaiter
  creditWaiter = undefined
  w?.()
}

function startSend (args: { api: string, destinations: string[], payloadBytes: number, batch: number, window: number, localCredit?: boolean, fanOut?: number, stamp?: boolean }): void {
  if (sending !== undefined) throw new Error('already sending')
  const local = args.localCredit === true
  if (local) onLocalCredit = wakeSender
  const payload = new Uint8Array(args.payloadBytes).fill(7)
  const request: SendStreamRequest = create(SendStreamRequestSchema, {
    messages: Array.from({ length: args.batch }, () => ({ destinations: args.destinations, payload }))
  })
  /** Deliveries one sent message makes (one per destination). */
  const perMessage = args.fanOut ?? args.destinations.length
  const s: Sending = { stop: false, sent: 0, result: undefined as never }
  const base = delivered(local)
  async function * requests (): AsyncGenerator<SendStreamRequest> {
    while (!s.stop) {
      while (!s.stop && (s.sent * perMessage) - (delivered(local) - base) > args.window) {
        await new Promise<void>(resolve => { creditWaiter = resolve })
      }
      if (s.stop) return
      s.sent += args.batch
      yield args.stamp === true ? stampedRequest(args.destinations, args.payloadBytes, args.batch) : request
    }
  }
  s.result = client(args.api).sendStream(requests()).then(r => ({ queued: Number(r.queued), dropped: Number(r.droppedOldest), requests: Number(r.requests) }))
  s.result.catch(() => {}) // observed by stopSend
  sending = s
}

async function stopSend (): Promise<{ sent: number, queued: number, dropped: number, requests: number }> {
  const s = sending
  if (s === undefined) throw new Error('not sending')
  sending = undefined
  s.stop = true
  wakeSender()
  onLocalCredit = undefined
  const r = await s.result
  return { sent: s.sent, ...r }
}

/** `n` fresh payloads stamped with the time now (the request is written right after). */
function stampedRequest (destinations: string[], payloadBytes: number, n: number): SendStreamRequest {
  return create(SendStreamRequestSchema, { messages: stampedMessages(destinations, payloadBytes, n) })
}

function stampedMessages (destinations: string[], payloadBytes: number, n: number): Array<{ destinations: string[], payload: Uint8Array }> {
  const stamp = clockMs()
  const messages = new Array(n)
  for (let i = 0; i < n; i++) {
    const payload = new Uint8Array(payloadBytes)
    new DataView(payload.buffer).setFloat64(0, stamp, true)
    messages[i] = { destinations, payload }
  }
  return messages
}

/**
 * Time-stamped messages at `rate` per second for `seconds`. A timer fires
 * every `tickMs` and sends what is due (at most `batchMax` per request), each
 * message stamped when its request is handed to the client. `mode` 'unary'
 * issues one Send call per request without waiting for earlier ones to
 * return; 'stream' writes the requests on one SendStream. Neither waits on
 * the daemon before the next tick, so the sender does not queue behind its
 * own pacing; `lateTicks` counts ticks that fired more than a tick late.
 */
async function paced (args: { api: string, destinations: string[], payloadBytes: number, rate: number, seconds: number, mode?: 'unary' | 'stream', tickMs?: number, batchMax?: number }): Promise<{ sent: number, requests: number, dropped: number, lateTicks: number }> {
  const batchMax = args.batchMax ?? 256
  const tickMs = args.tickMs ?? 1
  const mode = args.mode ?? 'unary'
  const c = client(args.api)
  let sent = 0
  let requests = 0
  let dropped = 0
  let lateTicks = 0
  let failure: unknown
  const calls: Array<Promise<void>> = []
  /** Stream mode: requests waiting for the SendStream to pull them, and its wake-up. */
  const pending: SendStreamRequest[] = []
  let wake: (() => void) | undefined
  let ended = false
  const stream = mode === 'stream'
    ? c.sendStream((async function * () {
      for (;;) {
        const r = pending.shift()
        if (r !== undefined) { yield r; continue }
        if (ended) return
        await new Promise<void>(resolve => { wake = resolve })
      }
    })()).then(r => { dropped += Number(r.droppedOldest) })
    : undefined
  await new Promise<void>(resolve => {
    const start = performance.now()
    const end = start + args.seconds * 1000
    let next = start + tickMs
    const tick = (): void => {
      const now = performance.now()
      if (now - next > tickMs) lateTicks++
      const due = Math.floor((Math.min(now, end) - start) * args.rate / 1000) - sent
      for (let left = due; left > 0;) {
        const n = Math.min(left, batchMax)
        left -= n
        sent += n
        requests++
        if (mode === 'stream') {
          pending.push(stampedRequest(args.destinations, args.payloadBytes, n))
        } else {
          const p = c.send({ messages: stampedMessages(args.destinations, args.payloadBytes, n) })
          calls.push(p.then(r => { dropped += Number(r.droppedOldest) }, (err: unknown) => { failure ??= err }))
        }
      }
      const w = wake
      wake = undefined
      w?.()
      if (now >= end) { resolve(); return }
      // no catching up on late ticks: `due` already covers what they missed
      next = now + tickMs
      setTimeout(tick, tickMs)
    }
    setTimeout(tick, tickMs)
  })
  ended = true
  const w = wake
  wake = undefined
  w?.()
  await Promise.all(calls)
  await stream
  if (failure !== undefined) throw failure
  return { sent, requests, dropped, lateTicks }
}

// -------------------------------------------------------------------- unary

type UnaryFn = (request: unknown, callback: (err: ServiceError | null, value?: unknown) => void) => void

/**
 * Unary calls through a @grpc/grpc-js client with `inFlight` outstanding:
 * `kind` 'mirnet' calls TransportService.Send (one message to `destination`),
 * 'echo' the grpc-js echo server with the same request. Same client, same
 * serializers, so only the server differs.
 */
async function unary (args: { address: string, kind: 'mirnet' | 'echo', destination: string, inFlight: number, payloadBytes: number, seconds: number, warmupSeconds: number }): Promise<{ calls: number, seconds: number, p50: number, p99: number }> {
  const path = args.kind === 'mirnet' ? `/${TransportService.typeName}/Send` : '/bench.Echo/Echo'
  const Ctor = makeGenericClientConstructor({
    call: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: object) => Buffer.from(toBinary(SendRequestSchema, v as never)),
      requestDeserialize: (b: Buffer) => fromBinary(SendRequestSchema, b),
      responseSerialize: (v: object) => Buffer.from(toBinary(SendResponseSchema, v as never)),
      responseDeserialize: args.kind === 'mirnet' ? (b: Buffer) => fromBinary(SendResponseSchema, b) : (b: Buffer) => fromBinary(SendRequestSchema, b)
    }
  }, 'bench')
  const c = new Ctor(args.address, credentials.createInsecure())
  const call = (c as unknown as { call: UnaryFn }).call.bind(c)
  const payload = new Uint8Array(args.payloadBytes).fill(7)
  const phase = async (seconds: number, record: boolean): Promise<{ calls: number, seconds: number, latencies: number[] }> => {
    const latencies: number[] = []
    let calls = 0
    const start = performance.now()
    const end = start + seconds * 1000
    await new Promise<void>((resolve, reject) => {
      let running = 0
      const issue = (): void => {
        running++
        const t0 = performance.now()
        // a fresh request per call, as a real client builds one
        const req = create(SendRequestSchema, { messages: [{ destinations: [args.destination], payload }] })
        call(req, (err) => {
          running--
          if (err !== null) { reject(err); return }
          const t1 = performance.now()
          calls++
          if (record) latencies.push(t1 - t0)
          if (t1 < end) issue()
          else if (running === 0) resolve()
        })
      }
      for (let i = 0; i < args.inFlight; i++) issue()
    })
    return { calls, seconds: (performance.now() - start) / 1000, latencies }
  }
  try {
    await phase(args.warmupSeconds, false)
    const r = await phase(args.seconds, true)
    return { calls: r.calls, seconds: r.seconds, p50: percentile(r.latencies, 50), p99: percentile(r.latencies, 99) }
  } finally {
    c.close()
  }
}

// ---------------------------------------------------------------- dispatch

const ops: Record<string, (args: never) => unknown> = {
  receive: startReceive,
  serveDirect,
  credit,
  stopReceive,
  counts,
  latency,
  send: startSend,
  stopSend,
  paced,
  unary
}

process.on('message', (m: ToWorker) => {
  if (m.t === 'credit') {
    relayedDelivered = m.delivered
    wakeSender()
    return
  }
  const op = ops[m.op]
  Promise.resolve()
    .then(async () => {
      if (op === undefined) throw new Error(`unknown op ${m.op}`)
      return await op(m.args as never)
    })
    .then(result => { post({ t: 'reply', id: m.id, result }) })
    .catch((err: Error) => { post({ t: 'reply', id: m.id, error: err.stack ?? String(err) }) })
})
process.on('disconnect', () => { process.exit(0) })
post({ t: 'ready' })
