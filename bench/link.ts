/**
 * Link benchmark: one NetworkModule sending to another over libp2p
 * (TCP + Noise + Yamux on 127.0.0.1), sender and receiver in separate
 * processes. This process sends; `link-receiver.ts`, forked, receives.
 *
 * For each payload size it sends for a fixed time, as fast as the module
 * accepts without overflowing the Dispatcher queue (it only enqueues what
 * fits), then lets the queue drain and asks the receiver how much it got.
 * Rates are delivered messages and bytes over the time from the first send to
 * the receiver holding everything sent (MB = 10^6 bytes).
 *
 *   npm run bench:link -- [--seconds N] [--json]
 *
 * Progress goes to stderr; the result table (or JSON with --json) to stdout.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { Libp2pTransport, NetworkModule, generateKey } from '../src/index.ts'
import type { ChildProcess } from 'node:child_process'
import type { MemberSpec, PeerStats } from '../src/index.ts'
import type { FromReceiver, ToReceiver } from './link-receiver.ts'

const SENDER_ID = 'sender'
const PAYLOAD_SIZES = [256, 65536] as const
const DEFAULT_SECONDS = 5
/** Messages enqueued at most between two turns of the event loop. */
const BURST = 256
const READY_TIMEOUT_MS = 15_000
const DRAIN_TIMEOUT_MS = 30_000
const DELIVERY_TIMEOUT_MS = 30_000
const EXIT_TIMEOUT_MS = 10_000
const RECEIVER_ENTRY = fileURLToPath(new URL('./link-receiver.ts', import.meta.url))

/** A bad command line. */
class UsageError extends Error {
  override name = 'UsageError'
}

interface Options {
  seconds: number
  json: boolean
}

interface RunResult {
  payloadBytes: number
  /** From the first send to the receiver holding everything sent. */
  elapsedSeconds: number
  sentMessages: number
  deliveredMessages: number
  deliveredBytes: number
  messagesPerSecond: number
  megabytesPerSecond: number
  /** Dropped by the sender's Dispatcher queue (full). */
  droppedMessages: number
  /** Handed to the connection but not delivered within the timeout. */
  undeliveredMessages: number
}

interface Counts {
  messages: number
  bytes: number
}

type ReceiverMessage<K extends FromReceiver['type']> = Extract<FromReceiver, { type: K }>

/** The forked receiver and its IPC channel, read one message at a time. */
class ReceiverProcess {
  readonly exited: Promise<number | null>
  readonly #child: ChildProcess
  readonly #messages: FromReceiver[] = []
  readonly #exit = new AbortController()
  #waiter?: (message: FromReceiver | Error) => void
  #gone?: Error

  constructor () {
    this.#child = fork(RECEIVER_ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.#child.on('message', (message: FromReceiver) => { this.#deliver(message) })
    this.#child.on('error', (err: Error) => { this.#fail(err) })
    this.exited = new Promise(resolve => {
      this.#child.once('exit', (code, signal) => {
        this.#fail(new Error(`the receiver exited (${signal ?? `code ${code}`})`))
        resolve(code)
      })
    })
  }

  get pid (): number | undefined { return this.#child.pid }
  /** Aborts, with the reason, when the receiver process exits. */
  get exitSignal (): AbortSignal { return this.#exit.signal }

  send (message: ToReceiver): void {
    if (this.#child.connected) this.#child.send(message)
  }

  /** The next message, which must be of `type`. */
  async next<K extends FromReceiver['type']> (type: K, timeoutMs: number): Promise<ReceiverMessage<K>> {
    const message = await this.#take(type, timeoutMs)
    if (message.type === 'error') throw new Error(`the receiver failed: ${message.message}`)
    if (message.type !== type) throw new Error(`expected "${type}" from the receiver, got "${message.type}"`)
    return message as ReceiverMessage<K>
  }

  /** Ask the receiver to close and wait for it to exit; kill it if it takes too long. */
  async close (): Promise<void> {
    this.send({ type: 'close' })
    const code = await Promise.race([this.exited, sleep(EXIT_TIMEOUT_MS, 'timeout' as const, { ref: false })])
    if (code === 'timeout') {
      this.kill()
      throw new Error(`the receiver did not exit within ${EXIT_TIMEOUT_MS} ms; killed it`)
    }
    if (code !== 0) throw new Error(`the receiver exited with code ${code}`)
  }

  kill (): void {
    const child = this.#child
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGKILL')
    }
  }

  /** The receiver is gone or unusable: fail whoever waits on it, now and later. */
  #fail (err: Error): void {
    this.#gone ??= err
    this.#exit.abort(err)
    this.#deliver(err)
  }

  #deliver (message: FromReceiver | Error): void {
    const waiter = this.#waiter
    if (waiter !== undefined) {
      this.#waiter = undefined
      waiter(message)
    } else if (!(message instanceof Error)) {
      this.#messages.push(message)
    }
  }

  async #take (type: string, timeoutMs: number): Promise<FromReceiver> {
    const queued = this.#messages.shift()
    if (queued !== undefined) return queued
    if (this.#gone !== undefined) throw this.#gone
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined
        reject(new Error(`no "${type}" from the receiver within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiter = message => {
        clearTimeout(timer)
        if (message instanceof Error) reject(message)
        else resolve(message)
      }
    })
  }
}

function parseOptions (): Options {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: String(DEFAULT_SECONDS) },
      json: { type: 'boolean', default: false }
    }
  })
  const seconds = Number(values.seconds)
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--seconds must be a positive number, got "${values.seconds}"`)
  return { seconds, json: values.json }
}

function progress (line: string): void {
  process.stderr.write(`link: ${line}\n`)
}

async function startSender (): Promise<NetworkModule> {
  const transport = await Libp2pTransport.create({ privateKey: await generateKey() })
  const module = new NetworkModule({ transport }, { nodeId: SENDER_ID })
  await module.start()
  return module
}

/** Exchange addresses, apply the two-node membership on both sides, wait until both links are open. Returns the receiver's node id. */
async function connect (module: NetworkModule, receiver: ReceiverProcess): Promise<string> {
  const ready = await receiver.next('ready', READY_TIMEOUT_MS)
  const members: MemberSpec[] = [
    { id: SENDER_ID, address: module.listenAddresses()[0] ?? '' },
    { id: ready.nodeId, address: ready.address }
  ]
  module.connect(members)
  receiver.send({ type: 'members', members })
  await module.waitFor(2, { signal: AbortSignal.any([receiver.exitSignal, AbortSignal.timeout(READY_TIMEOUT_MS)]) })
  await receiver.next('connected', READY_TIMEOUT_MS)
  return ready.nodeId
}

function peerStats (module: NetworkModule, nodeId: string): PeerStats {
  const peer = module.stats().peers.find(p => p.nodeId === nodeId)
  if (peer === undefined) throw new Error(`node "${nodeId}" is not a member`)
  return peer
}

/** Enqueue `payload` for `seconds`, never more than the queue has room for. */
async function sendFor (module: NetworkModule, destination: string, payload: Uint8Array, seconds: number, signal: AbortSignal): Promise<void> {
  const { queueCapacity, queueMaxBytes } = module.config
  const deadline = performance.now() + seconds * 1000
  while (performance.now() < deadline) {
    signal.throwIfAborted()
    const { queued, queuedBytes } = peerStats(module, destination)
    const room = Math.min(BURST, queueCapacity - queued, Math.floor((queueMaxBytes - queuedBytes) / payload.byteLength))
    for (let i = 0; i < room; i++) module.sendTo(destination, payload)
    await nextTurn()
  }
}

/** Wait until everything queued for `destination` has been handed to the connection. */
async function drain (module: NetworkModule, destination: string, signal: AbortSignal): Promise<PeerStats> {
  const deadline = performance.now() + DRAIN_TIMEOUT_MS
  for (;;) {
    signal.throwIfAborted()
    const stats = peerStats(module, destination)
    if (stats.queued === 0) return stats
    if (performance.now() > deadline) throw new Error(`${stats.queued} messages still queued after ${DRAIN_TIMEOUT_MS} ms`)
    await sleep(1)
  }
}

/** Cumulative counts from the receiver once it holds `messages` in total (or at the timeout). */
async function deliveredCounts (receiver: ReceiverProcess, messages: number): Promise<Counts> {
  receiver.send({ type: 'await', messages, timeoutMs: DELIVERY_TIMEOUT_MS })
  const { messages: delivered, bytes } = await receiver.next('counts', DELIVERY_TIMEOUT_MS + 5_000)
  return { messages: delivered, bytes }
}

async function measure (
  module: NetworkModule, receiver: ReceiverProcess, destination: string,
  payloadBytes: number, seconds: number, before: Counts
): Promise<{ result: RunResult, after: Counts }> {
  const payload = crypto.getRandomValues(new Uint8Array(payloadBytes))
  const start = peerStats(module, destination)
  const startedAt = performance.now()
  await sendFor(module, destination, payload, seconds, receiver.exitSignal)
  const end = await drain(module, destination, receiver.exitSignal)
  const after = await deliveredCounts(receiver, end.sentMessages)
  const elapsedSeconds = (performance.now() - startedAt) / 1000
  const sentMessages = end.sentMessages - start.sentMessages
  const deliveredMessages = after.messages - before.messages
  const deliveredBytes = after.bytes - before.bytes
  const result: RunResult = {
    payloadBytes,
    elapsedSeconds,
    sentMessages,
    deliveredMessages,
    deliveredBytes,
    messagesPerSecond: deliveredMessages / elapsedSeconds,
    megabytesPerSecond: deliveredBytes / elapsedSeconds / 1e6,
    droppedMessages: end.droppedMessages - start.droppedMessages,
    undeliveredMessages: sentMessages - deliveredMessages
  }
  return { result, after }
}

function formatTable (results: readonly RunResult[]): string {
  const header = ['payload bytes', 'messages/s', 'MB/s delivered', 'messages dropped']
  const rows = results.map(r => [
    String(r.payloadBytes),
    Math.round(r.messagesPerSecond).toLocaleString('en-US'),
    r.megabytesPerSecond.toFixed(2),
    String(r.droppedMessages)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(row => row[i].length)))
  return [header, ...rows].map(row => row.map((cell, i) => cell.padStart(widths[i])).join('  ')).join('\n')
}

async function runAll (module: NetworkModule, receiver: ReceiverProcess, options: Options): Promise<RunResult[]> {
  const destination = await connect(module, receiver)
  progress(`connected to "${destination}" (pid ${receiver.pid ?? '?'})`)
  const results: RunResult[] = []
  let counts: Counts = { messages: 0, bytes: 0 }
  for (const payloadBytes of PAYLOAD_SIZES) {
    progress(`sending ${payloadBytes}-byte payloads for ${options.seconds} s`)
    const { result, after } = await measure(module, receiver, destination, payloadBytes, options.seconds, counts)
    counts = after
    if (result.undeliveredMessages !== 0) progress(`${result.undeliveredMessages} messages sent but not delivered`)
    results.push(result)
  }
  return results
}

async function main (): Promise<void> {
  const options = parseOptions()
  const receiver = new ReceiverProcess()
  let module: NetworkModule | undefined
  try {
    module = await startSender()
    const results = await runAll(module, receiver, options)
    await Promise.all([receiver.close(), module.close()])
    if (options.json) process.stdout.write(JSON.stringify({ seconds: options.seconds, results }, null, 2) + '\n')
    else process.stdout.write(formatTable(results) + '\n')
  } catch (err) {
    receiver.kill()
    await module?.close()
    throw err
  }
}

main().catch((err: unknown) => {
  const detail = err instanceof UsageError ? err.message : err instanceof Error ? err.stack ?? err.message : String(err)
  process.stderr.write(`link: ${detail}\n`)
  process.exitCode = 1
})
