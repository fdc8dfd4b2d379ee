/**
 * A sender and a receiver, each its own OS process (forked from
 * `bench/workers/link-sender.ts` and `link-receiver.ts`), joined by one link
 * of a given system:
 *
 * - `mirnet`: a NetworkModule on each side, libp2p (TCP + Noise + Yamux) on
 *   127.0.0.1; the sender enqueues as fast as the Dispatcher queue has room
 *   (so nothing is dropped; drops are counted and reported).
 * - `raw-tcp`: node:net, one `socket.write()` per length-prefixed message;
 *   the receiver decodes frames with the core's FrameDecoder.
 * - `raw-tcp-batched`: the same receiver; the sender frames messages into
 *   64 KiB buffers, one `socket.write()` each, corked per event-loop turn
 *   (bench/workers/frame-batcher.ts): the plain socket's ceiling.
 * - `libp2p-per-message`: a plain js-libp2p 3 node on each side (TCP + Noise
 *   + Yamux, library defaults), one `stream.send()` per framed message,
 *   waiting for the next `drain` event when `send()` returns false.
 *
 * A round sends one payload size for a fixed time and measures delivered
 * messages and bytes over the time from the first send to the receiver
 * holding everything sent (wall clock shared by both processes; MB = 10^6 bytes).
 * A `hol` round (mirnet only) sends paced, stamped votes on one lane while
 * bulk messages fill another (or the same) lane, and measures the votes'
 * one-way latency and the bulk rate.
 *
 * With `delayMs`, each side is reached through its own {@link DelayProxy}
 * (so whichever side's dial makes the connection, the link is long): the
 * round trip is 2 × `delayMs` through either. Noise authenticates the peer
 * id end to end; the proxy only moves bytes.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { cpuSnapshot, cpuUsPerMessage } from './cpu-time.ts'
import { DelayProxy, addressVia, tcpTarget } from './delay-proxy.ts'
import { VOTE_BYTES } from './votes.ts'
import type { ChildProcess } from 'node:child_process'
import type { NetworkModuleInit } from '../../src/index.ts'
import type { DelayProxyStats } from './delay-proxy.ts'

/** `mirnet` runs the core over libp2p, `mirnet-tls` over the TLS transport, `mirnet-grpc` over the gRPC transport. */
export const LINK_SYSTEMS = ['mirnet', 'mirnet-tls', 'mirnet-grpc', 'raw-tcp', 'raw-tcp-batched', 'libp2p-per-message'] as const
export type LinkSystem = typeof LINK_SYSTEMS[number]

/** Parent -> sender worker. */
export type ToSender =
  | { type: 'connect', peer: PeerInfo }
  | { type: 'run', payloadBytes: number, seconds: number }
  | ({ type: 'hol' } & HolPlan)
  | { type: 'close' }

/** What the sender of a `hol` round does for `seconds`. */
export interface HolPlan {
  seconds: number
  /** Votes per second, paced by a 1 ms timer, on lane `voteLane` (a name). */
  voteRate: number
  voteLane: string
  /** Bulk payload size; 0 sends votes only. */
  bulkBytes: number
  bulkLane: string
}

/** Parent -> receiver worker. */
export type ToReceiver =
  | { type: 'connect', peer: PeerInfo }
  /** Zero the counters (between rounds, once the previous round is all delivered); `votes`: record votes' latency. */
  | { type: 'reset', votes?: boolean }
  /** Reply `votes`: latency of the votes delivered since the reset. */
  | { type: 'votes' }
  /** Reply `counts` once `messages` were delivered since the reset, or after `timeoutMs`. */
  | { type: 'await', messages: number, timeoutMs: number }
  | { type: 'close' }

/** Where a worker can be reached: node id and address (multiaddr or host:port). */
export interface PeerInfo {
  nodeId: string
  address: string
}

/** Worker -> parent. */
export type FromWorker =
  | { type: 'ready', peer: PeerInfo }
  | { type: 'connected' }
  | { type: 'reset' }
  /** Sender: a round is over and everything sent has left the sender's queue. `startedAt` is epoch ms. */
  | { type: 'sent', messages: number, bytes: number, dropped: number, startedAt: number }
  /** Receiver: delivered since the reset, and when the last of them arrived (epoch ms). */
  | { type: 'counts', messages: number, bytes: number, at: number }
  /** Sender of a `hol` round: all has left the queues. Drops are per lane, from the module's stats. */
  | { type: 'hol-sent', votes: number, bulkMessages: number, bulkBytes: number, sentMessages: number, voteLaneDropped: number, bulkLaneDropped: number, droppedMessages: number, lateP99Ms: number, lateMaxMs: number, startedAt: number }
  /** Receiver: one-way latency of the votes since the reset. */
  | { type: 'votes', n: number, p50Ms: number, p99Ms: number, maxMs: number }
  | { type: 'error', message: string }

export interface RoundResult {
  system: LinkSystem
  payloadBytes: number
  sentMessages: number
  deliveredMessages: number
  deliveredBytes: number
  /** Dropped by the sender (mirnet's queue; always 0 for the baselines). */
  droppedMessages: number
  /** From the first send to the receiver holding everything sent. */
  seconds: number
  msgsPerSec: number
  mbPerSec: number
}

export interface HolResult {
  plan: HolPlan
  votesSent: number
  /** Votes sent and not delivered (0 unless something dropped them). */
  votesLost: number
  /** Dropped from the vote lane's and the bulk lane's queue, by the module's per-lane stats. */
  voteLaneDropped: number
  bulkLaneDropped: number
  voteP50Ms: number
  voteP99Ms: number
  voteMaxMs: number
  /** How late the pacing timer sent votes (sender's event loop), p99 and max. */
  lateP99Ms: number
  lateMaxMs: number
  bulkMessages: number
  /** Bulk bytes delivered over the time from the first send to the last delivery (MB = 10^6 bytes). */
  bulkMbPerSec: number
  seconds: number
}

export interface LinkPairOptions {
  /** Extra node flags for both workers (e.g. `--cpu-prof`). */
  execArgv?: string[]
  /** Tunables of both NetworkModules (system `mirnet`). */
  init?: NetworkModuleInit
  /** Join the two through delay proxies with this one-way delay (ms); see {@link LinkPair.setDelay}. */
  delayMs?: number
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function epochMs (): number {
  return performance.timeOrigin + performance.now()
}

const WORKER_DIR = new URL('../workers/', import.meta.url)
/** Twelve worker processes (six systems) start at once; on 2 busy cores ten took over 20 s. */
const READY_TIMEOUT_MS = 60_000
const DELIVERY_TIMEOUT_MS = 30_000
const EXIT_TIMEOUT_MS = 10_000

type Reply<K extends FromWorker['type']> = Extract<FromWorker, { type: K }>

/** One forked worker and its IPC channel, read one reply at a time. */
class WorkerProcess {
  readonly name: string
  readonly exited: Promise<number | null>
  readonly #child: ChildProcess
  readonly #replies: FromWorker[] = []
  #waiter?: (message: FromWorker | Error) => void
  #gone?: Error

  constructor (entry: string, system: LinkSystem, options: LinkPairOptions) {
    this.name = `${entry} (${system})`
    const execArgv = [...process.execArgv, ...(options.execArgv ?? [])]
    this.#child = fork(fileURLToPath(new URL(entry, WORKER_DIR)), [system, JSON.stringify(options.init ?? {})], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv })
    this.#child.on('message', (message: FromWorker) => { this.#deliver(message) })
    this.#child.on('error', (err: Error) => { this.fail(err) })
    this.exited = new Promise(resolve => {
      this.#child.once('exit', (code, signal) => {
        this.fail(new Error(`${this.name} exited (${signal ?? `code ${code}`})`))
        resolve(code)
      })
    })
  }

  get pid (): number | undefined { return this.#child.pid }

  send (message: ToSender | ToReceiver): void {
    if (this.#child.connected) this.#child.send(message)
  }

  /** The next reply, which must be of `type`. */
  async next<K extends FromWorker['type']> (type: K, timeoutMs: number): Promise<Reply<K>> {
    const message = await this.#take(type, timeoutMs)
    if (message.type === 'error') throw new Error(`${this.name} failed: ${message.message}`)
    if (message.type !== type) throw new Error(`expected "${type}" from ${this.name}, got "${message.type}"`)
    return message as Reply<K>
  }

  /** Ask the worker to close and wait for its exit; kill it (by pid) if it takes too long. */
  async close (): Promise<void> {
    this.send({ type: 'close' })
    const code = await Promise.race([this.exited, sleep(EXIT_TIMEOUT_MS, 'timeout' as const, { ref: false })])
    if (code === 'timeout') {
      this.kill()
      await this.exited
      throw new Error(`${this.name} did not exit within ${EXIT_TIMEOUT_MS} ms; killed it`)
    }
    if (code !== 0) throw new Error(`${this.name} exited with code ${code}`)
  }

  kill (): void {
    const child = this.#child
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGKILL')
    }
  }

  /** The worker is gone or unusable: fail whoever waits on it, now and later. */
  fail (err: Error): void {
    this.#gone ??= err
    this.#deliver(err)
  }

  #deliver (message: FromWorker | Error): void {
    const waiter = this.#waiter
    if (waiter !== undefined) {
      this.#waiter = undefined
      waiter(message)
    } else if (!(message instanceof Error)) {
      this.#replies.push(message)
    }
  }

  async #take (type: string, timeoutMs: number): Promise<FromWorker> {
    const queued = this.#replies.shift()
    if (queued !== undefined) return queued
    if (this.#gone !== undefined) throw this.#gone
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined
        reject(new Error(`no "${type}" from ${this.name} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiter = message => {
        clearTimeout(timer)
        if (message instanceof Error) reject(message)
        else resolve(message)
      }
    })
  }
}

/**
 * A connected sender/receiver pair of one system, kept for any number of
 * rounds. `close()` ends both processes; on any error both are killed.
 */
export class LinkPair {
  readonly system: LinkSystem
  readonly #sender: WorkerProcess
  readonly #receiver: WorkerProcess
  readonly #proxies: DelayProxy[] = []

  private constructor (system: LinkSystem, sender: WorkerProcess, receiver: WorkerProcess) {
    this.system = system
    this.#sender = sender
    this.#receiver = receiver
    // one side gone: whoever waits on the other stops waiting at once
    void sender.exited.then(() => { receiver.fail(new Error(`${sender.name} exited`)) })
    void receiver.exited.then(() => { sender.fail(new Error(`${receiver.name} exited`)) })
  }

  /** Process ids of the sender and the receiver (for CPU and memory readings). */
  get pids (): { sender?: number, receiver?: number } {
    return { sender: this.#sender.pid, receiver: this.#receiver.pid }
  }

  /** Fork both workers and connect them. */
  static async start (system: LinkSystem, options: LinkPairOptions = {}): Promise<LinkPair> {
    const receiver = new WorkerProcess('link-receiver.ts', system, options)
    const sender = new WorkerProcess('link-sender.ts', system, options)
    const pair = new LinkPair(system, sender, receiver)
    try {
      const [r, s] = await Promise.all([receiver.next('ready', READY_TIMEOUT_MS), sender.next('ready', READY_TIMEOUT_MS)])
      const [toReceiver, toSender] = options.delayMs === undefined
        ? [r.peer, s.peer]
        : await Promise.all([r.peer, s.peer].map(async peer => await pair.#proxy(peer, options.delayMs as number)))
      receiver.send({ type: 'connect', peer: toSender })
      sender.send({ type: 'connect', peer: toReceiver })
      await Promise.all([receiver.next('connected', READY_TIMEOUT_MS), sender.next('connected', READY_TIMEOUT_MS)])
    } catch (err) {
      await pair.kill()
      throw err
    }
    return pair
  }

  /** `peer` reached through a new delay proxy. */
  async #proxy (peer: PeerInfo, delayMs: number): Promise<PeerInfo> {
    const { host, port } = tcpTarget(peer.address)
    const proxy = await DelayProxy.start({ targetHost: host, targetPort: port, delayMs })
    this.#proxies.push(proxy)
    return { nodeId: peer.nodeId, address: addressVia(peer.address, proxy.port) }
  }

  /** One-way delay of both proxies from now on (a pair started with `delayMs`). */
  setDelay (delayMs: number): void {
    if (this.#proxies.length === 0) throw new Error('this pair was started without delay proxies')
    for (const p of this.#proxies) p.delayMs = delayMs
  }

  /** Both proxies' figures summed: bytes that went through them show the link did. */
  proxyStats (): DelayProxyStats {
    const sum: DelayProxyStats = { connections: 0, open: 0, bytesToTarget: 0, bytesFromTarget: 0, errors: 0, peakBufferedBytes: 0 }
    for (const p of this.#proxies) {
      const s = p.stats()
      sum.connections += s.connections
      sum.open += s.open
      sum.bytesToTarget += s.bytesToTarget
      sum.bytesFromTarget += s.bytesFromTarget
      sum.errors += s.errors
      sum.peakBufferedBytes = Math.max(sum.peakBufferedBytes, s.peakBufferedBytes)
    }
    return sum
  }

  /** A `hol` round (system `mirnet`): paced votes with or without bulk; kills both workers on failure. */
  async hol (plan: HolPlan): Promise<HolResult> {
    try {
      this.#receiver.send({ type: 'reset', votes: true })
      await this.#receiver.next('reset', READY_TIMEOUT_MS)
      this.#sender.send({ type: 'hol', ...plan })
      const sent = await this.#sender.next('hol-sent', plan.seconds * 1000 + DELIVERY_TIMEOUT_MS)
      this.#receiver.send({ type: 'await', messages: sent.sentMessages, timeoutMs: DELIVERY_TIMEOUT_MS })
      const got = await this.#receiver.next('counts', DELIVERY_TIMEOUT_MS + 5_000)
      if (got.messages < sent.sentMessages) {
        throw new Error(`hol: ${sent.sentMessages - got.messages} of ${sent.sentMessages} messages not delivered within ${DELIVERY_TIMEOUT_MS} ms`)
      }
      this.#receiver.send({ type: 'votes' })
      const votes = await this.#receiver.next('votes', READY_TIMEOUT_MS)
      const elapsed = (got.at - sent.startedAt) / 1000
      const bulkDelivered = got.bytes - votes.n * VOTE_BYTES
      return {
        plan,
        votesSent: sent.votes,
        votesLost: sent.votes - votes.n,
        voteLaneDropped: sent.voteLaneDropped,
        bulkLaneDropped: sent.bulkLaneDropped,
        voteP50Ms: votes.p50Ms,
        voteP99Ms: votes.p99Ms,
        voteMaxMs: votes.maxMs,
        lateP99Ms: sent.lateP99Ms,
        lateMaxMs: sent.lateMaxMs,
        bulkMessages: sent.bulkMessages,
        bulkMbPerSec: bulkDelivered / elapsed / 1e6,
        seconds: elapsed
      }
    } catch (err) {
      await this.kill()
      throw err
    }
  }

  /** Send `payloadBytes`-byte messages for `seconds`; kills both workers on failure. */
  async round (payloadBytes: number, seconds: number): Promise<RoundResult> {
    try {
      this.#receiver.send({ type: 'reset' })
      await this.#receiver.next('reset', READY_TIMEOUT_MS)
      this.#sender.send({ type: 'run', payloadBytes, seconds })
      const sent = await this.#sender.next('sent', seconds * 1000 + DELIVERY_TIMEOUT_MS)
      this.#receiver.send({ type: 'await', messages: sent.messages, timeoutMs: DELIVERY_TIMEOUT_MS })
      const got = await this.#receiver.next('counts', DELIVERY_TIMEOUT_MS + 5_000)
      if (got.messages < sent.messages) {
        throw new Error(`${this.system}: ${sent.messages - got.messages} of ${sent.messages} messages not delivered within ${DELIVERY_TIMEOUT_MS} ms`)
      }
      const elapsed = (got.at - sent.startedAt) / 1000
      return {
        system: this.system,
        payloadBytes,
        sentMessages: sent.messages,
        deliveredMessages: got.messages,
        deliveredBytes: got.bytes,
        droppedMessages: sent.dropped,
        seconds: elapsed,
        msgsPerSec: got.messages / elapsed,
        mbPerSec: got.bytes / elapsed / 1e6
      }
    } catch (err) {
      await this.kill()
      throw err
    }
  }

  /** {@link round}, with the CPU each process spent per delivered message over it (µs). */
  async measuredRound (payloadBytes: number, seconds: number): Promise<RoundResult & { cpuUsPerMsg: Record<'sender' | 'receiver', number> }> {
    const pids = { sender: this.pids.sender as number, receiver: this.pids.receiver as number }
    const cpu0 = await cpuSnapshot(pids)
    const result = await this.round(payloadBytes, seconds)
    const cpu1 = await cpuSnapshot(pids)
    return { ...result, cpuUsPerMsg: cpuUsPerMessage(cpu0, cpu1, result.deliveredMessages) }
  }

  /** End both workers gracefully (killing whichever does not exit in time). */
  async close (): Promise<void> {
    const results = await Promise.allSettled([this.#sender.close(), this.#receiver.close()])
    await this.#closeProxies()
    const failed = results.find(r => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  /** SIGKILL both workers and wait for their exit. */
  async kill (): Promise<void> {
    this.#sender.kill()
    this.#receiver.kill()
    await Promise.all([this.#sender.exited, this.#receiver.exited])
    await this.#closeProxies()
  }

  async #closeProxies (): Promise<void> {
    await Promise.all(this.#proxies.map(async p => { await p.close() }))
  }
}
