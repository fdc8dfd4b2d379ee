import { setTimeout as sleep } from 'node:timers/promises'
import { Code, ConnectError } from '@connectrpc/connect'
import { pullMessages, receiveMessages } from '../../src/client/client.ts'
import { delay } from '../../src/core/backoff.ts'
import type { MirnetClient } from '../../src/client/client.ts'

/**
 * Bytes of every test payload: the first 8 carry the sender's sequence
 * number, the next 8 when it was sent (ms since the epoch, a float64: the
 * fault suite's daemons share the machine's clock, namespaces or not).
 */
export const PAYLOAD_BYTES = 64

/** Senders and consumers not stopped yet: a failed test leaves none running. */
const live = new Set<{ stop: () => Promise<void> }>()

/** Stop every Sender and Consumer still running (for `afterEach`). */
export async function stopTraffic (): Promise<void> {
  await Promise.all([...live].map(async t => { await t.stop() }))
}

export function sequenceOf (payload: Uint8Array): number {
  return Number(new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getBigUint64(0))
}

/** When the message was handed to the sender's daemon (ms since the epoch). */
export function sentAtOf (payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getFloat64(8)
}

/** Now, in ms since the epoch, with sub-millisecond resolution. */
export function nowMs (): number {
  return performance.timeOrigin + performance.now()
}

/** Percentiles of a list of figures (nearest rank), rounded to 0.1. */
export function percentiles (values: ArrayLike<number>): { count: number, p50: number, p99: number, max: number } {
  const s = Float64Array.from(values).sort()
  const at = (q: number): number => s.length === 0 ? Number.NaN : Math.round(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] * 10) / 10
  return { count: s.length, p50: at(0.5), p99: at(0.99), max: at(1) }
}

export interface SenderInit {
  /** The sending member's node id. */
  from: string
  /** Every message goes to all of these. */
  destinations: string[]
  /** Messages per second, per destination. */
  ratePerSec: number
  /** Messages per Send call. @default 100 */
  batch?: number
}

/**
 * A consensus node's outgoing traffic through its daemon's API: batches of
 * messages at a steady rate, each numbered (one sequence per sender, shared
 * by the destinations), so a receiver can check order. Counts, per
 * destination, what the daemon confirmed it queued. While the daemon is down
 * (`setClient(undefined)`) nothing is sent; a Send that fails is counted in
 * `failedSends` and its messages in no destination's `sent`.
 */
export class Sender {
  readonly from: string
  readonly destinations: string[]
  /** Messages the daemon queued, per destination. */
  readonly sent = new Map<string, number>()
  failedSends = 0
  lastError?: string
  #client?: MirnetClient
  #seq = 0
  readonly #ratePerSec: number
  readonly #batch: number
  readonly #abort = new AbortController()
  #loop?: Promise<void>

  constructor (client: MirnetClient | undefined, init: SenderInit) {
    this.#client = client
    this.from = init.from
    this.destinations = init.destinations
    this.#ratePerSec = init.ratePerSec
    this.#batch = init.batch ?? 100
    for (const d of this.destinations) this.sent.set(d, 0)
    live.add(this)
  }

  /** Messages confirmed queued, summed over destinations. */
  get total (): number {
    let n = 0
    for (const v of this.sent.values()) n += v
    return n
  }

  setClient (client: MirnetClient | undefined): void {
    this.#client = client
  }

  start (): this {
    this.#loop ??= this.#run()
    return this
  }

  /** Stop sending; resolves once the Send in progress has answered. Idempotent. */
  async stop (): Promise<void> {
    this.#abort.abort()
    await this.#loop
    live.delete(this)
  }

  async #run (): Promise<void> {
    const signal = this.#abort.signal
    const started = performance.now()
    let batches = 0
    while (!signal.aborted) {
      const client = this.#client
      if (client !== undefined) await this.#sendBatch(client)
      batches++
      // pace: batch n is due at started + n * batch / rate
      const due = started + batches * this.#batch * 1000 / this.#ratePerSec
      const wait = due - performance.now()
      if (wait > 0) await delay(wait, signal)
      else await sleep(0) // let other clients in
    }
  }

  async #sendBatch (client: MirnetClient): Promise<void> {
    const messages = new Array(this.#batch)
    const sentAt = nowMs()
    for (let i = 0; i < this.#batch; i++) {
      const payload = new Uint8Array(PAYLOAD_BYTES)
      const view = new DataView(payload.buffer)
      view.setBigUint64(0, BigInt(++this.#seq))
      view.setFloat64(8, sentAt)
      messages[i] = { destinations: this.destinations, payload }
    }
    try {
      const res = await client.send({ messages }, { timeoutMs: 10_000 })
      if (Number(res.queued) !== this.#batch * this.destinations.length) throw new Error(`queued ${res.queued} of ${this.#batch * this.destinations.length}`)
      for (const d of this.destinations) this.sent.set(d, (this.sent.get(d) ?? 0) + this.#batch)
    } catch (err) {
      this.failedSends++
      this.lastError = (err as Error).message
    }
  }
}

export interface ConsumerInit {
  /** Messages per Receive response asked for. @default 256 */
  maxBatch?: number
  /** Read at most this many messages per second (a slow consumer); unlimited when absent. */
  readPerSec?: number
  /** Keep the age (ms from the sender's Send to reading) of every message read, in `ages`. @default false */
  recordAges?: boolean
  /** Read with Pull calls of up to `maxBatch` messages instead of a Receive stream. @default false */
  pull?: boolean
}

interface Waiter {
  from: string
  count: number
  resolve: () => void
}

/**
 * A consensus node reading its daemon's Receive stream: counts messages per
 * sender, checks that the sequence numbers of each sender and lane only
 * increase (gaps are drops; a repeat is a duplicate, a step back a reorder,
 * both order violations), and records when the first message of each
 * sender arrived.
 */
export class Consumer {
  readonly counts = new Map<string, number>()
  /** Last sequence number per sender and lane (`from/lane`). */
  readonly lastSeq = new Map<string, number>()
  readonly firstSeq = new Map<string, number>()
  /** When (performance.now()) the first message of each sender arrived. */
  readonly firstAt = new Map<string, number>()
  /** Duplicates and reorders, as `from/lane: seq after last`. */
  readonly orderViolations: string[] = []
  /** Messages read a second time (a sequence number of the sender and lane already read). */
  duplicates = 0
  /** Messages read after a later one of the same sender and lane, for the first time. */
  reorders = 0
  /** Per sender and lane, a bit per sequence number read. */
  readonly #seen = new Map<string, Uint8Array>()
  /** Ages of the messages read (ms), with `recordAges`. */
  readonly ages: number[] = []
  readonly #recordAges: boolean
  /** How the stream ended: 'open' while it runs, 'ended' when the daemon ended it cleanly, 'stopped' by us. */
  outcome: 'open' | 'ended' | 'stopped' | Error = 'open'
  readonly #abort = new AbortController()
  readonly #loop: Promise<void>
  #waiters: Waiter[] = []
  #readPerSec?: number

  constructor (client: MirnetClient, init: ConsumerInit = {}) {
    this.#readPerSec = init.readPerSec
    this.#recordAges = init.recordAges ?? false
    this.#loop = init.pull === true ? this.#runPull(client, init.maxBatch ?? 256) : this.#run(client, init.maxBatch ?? 256)
    live.add(this)
  }

  /** Read as fast as messages come from now on (to drain what a slow consumer left). */
  unthrottle (): void {
    this.#readPerSec = undefined
  }

  get total (): number {
    let n = 0
    for (const v of this.counts.values()) n += v
    return n
  }

  count (from: string): number {
    return this.counts.get(from) ?? 0
  }

  /** The highest sequence number read from `from`, on any lane (0 if none). */
  lastSeqOf (from: string): number {
    let last = 0
    for (const [key, seq] of this.lastSeq) if (key.startsWith(`${from}/`) && seq > last) last = seq
    return last
  }

  /** Resolves once `count` messages from `from` have arrived; rejects after `timeoutMs`. */
  async waitFor (from: string, count: number, timeoutMs: number): Promise<void> {
    if (this.count(from) >= count) return
    let waiter: Waiter | undefined
    const reached = new Promise<void>(resolve => { waiter = { from, count, resolve } })
    this.#waiters.push(waiter as Waiter)
    const timer = new AbortController()
    try {
      await Promise.race([
        reached,
        sleep(timeoutMs, undefined, { signal: timer.signal }).then(() => {
          throw new Error(`${this.count(from)} of ${count} messages from ${from} within ${timeoutMs} ms (stream ${String(this.outcome)})`)
        }),
        this.#loop.then(() => { throw new Error(`the Receive stream ended (${String(this.outcome)}) with ${this.count(from)} of ${count} messages from ${from}`) })
      ])
    } finally {
      timer.abort()
      this.#waiters = this.#waiters.filter(w => w !== waiter)
    }
  }

  /** Resolves when the stream has ended, whoever ended it. */
  async ended (): Promise<void> {
    await this.#loop
  }

  /** Cancel the stream. Idempotent. */
  async stop (): Promise<void> {
    this.#abort.abort()
    await this.#loop
    live.delete(this)
  }

  async #run (client: MirnetClient, maxBatch: number): Promise<void> {
    const signal = this.#abort.signal
    const started = performance.now()
    let read = 0
    try {
      for await (const m of receiveMessages(client, { maxBatchMessages: maxBatch, signal })) {
        // the messages are InboundMessages (with their lane); receiveMessages() types only from and payload
        this.#take(m.from, (m as { lane?: string }).lane ?? '', m.payload)
        read++
        if (this.#readPerSec !== undefined) {
          // pace: message n is read at started + n / rate
          const wait = started + read * 1000 / this.#readPerSec - performance.now()
          if (wait > 0) await delay(wait, signal)
        }
      }
      this.outcome = signal.aborted ? 'stopped' : 'ended'
    } catch (err) {
      this.outcome = signal.aborted ? 'stopped' : err as Error
    }
  }

  async #runPull (client: MirnetClient, maxBatch: number): Promise<void> {
    const signal = this.#abort.signal
    const started = performance.now()
    let read = 0
    try {
      while (!signal.aborted) {
        const batch = await pullMessages(client, { maxMessages: maxBatch, waitMs: 1000, signal })
        for (const m of batch) this.#take(m.from, m.lane, m.payload)
        read += batch.length
        if (this.#readPerSec !== undefined) {
          const wait = started + read * 1000 / this.#readPerSec - performance.now()
          if (wait > 0) await delay(wait, signal)
        }
      }
      this.outcome = 'stopped'
    } catch (err) {
      // a stopping daemon answers a waiting Pull with UNAVAILABLE: the end of the stream of pulls
      this.outcome = signal.aborted ? 'stopped' : err instanceof ConnectError && err.code === Code.Unavailable ? 'ended' : err as Error
    }
  }

  /** Mark `seq` read for `key`; returns whether it had been read before. */
  #markSeen (key: string, seq: number): boolean {
    let bits = this.#seen.get(key)
    if (bits === undefined || bits.byteLength <= seq >> 3) {
      const grown = new Uint8Array(Math.max(1024, 2 * ((seq >> 3) + 1)))
      if (bits !== undefined) grown.set(bits)
      this.#seen.set(key, bits = grown)
    }
    const mask = 1 << (seq & 7)
    const before = (bits[seq >> 3] & mask) !== 0
    bits[seq >> 3] |= mask
    return before
  }

  #take (from: string, lane: string, payload: Uint8Array): void {
    const seq = sequenceOf(payload)
    if (this.#recordAges) this.ages.push(nowMs() - sentAtOf(payload))
    const key = `${from}/${lane}`
    const last = this.lastSeq.get(key) ?? 0
    const seenBefore = this.#markSeen(key, seq)
    if (seenBefore) this.duplicates++
    else if (seq < last) this.reorders++
    if (seq <= last && this.orderViolations.length < 100) this.orderViolations.push(`${key}: ${seenBefore ? 'duplicate' : 'reordered'} ${seq} after ${last}`)
    this.lastSeq.set(key, Math.max(seq, last))
    const n = (this.counts.get(from) ?? 0) + 1
    this.counts.set(from, n)
    if (n === 1) {
      this.firstAt.set(from, performance.now())
      this.firstSeq.set(from, seq)
    }
    if (this.#waiters.length > 0) {
      for (const w of this.#waiters) if (w.from === from && n >= w.count) w.resolve()
    }
  }
}
