/**
 * A hostile peer on the TLS or gRPC transport for the fault suite, run as its
 * own process like hostile-peer.ts (its libp2p counterpart):
 *
 *   node test/faults/hostile-tls-peer.ts '<json HostileTlsTask>'
 *
 * It speaks through the daemon's own transport classes (TlsTransport,
 * GrpcTransport) with keys of its own, so that everything up to mirnet's
 * framing is exactly what a daemon does; what it writes on a channel is its
 * own. Each channel is one connection (TLS) or one call on its own
 * connection (gRPC). Tasks:
 *
 * - `swarm`: `count` fresh identities, `batch` at a time, each dials the
 *   target, writes a version 3 hello and `bytesPerPeer` of valid frames (as
 *   far as the target reads them); the most recent `hold` stay connected.
 * - `stall`: `count` raw TCP connections to the target's port that never
 *   finish a handshake: every other one writes nothing, the others the first
 *   half of a real ClientHello; reports when the target closed each.
 * - `impostor`: one fresh identity that writes `messages` numbered frames
 *   (`impostor:<n>`) and stays connected.
 * - `squatter`: one fresh identity listening on `listen` (a member's
 *   address, taken while the member is down); reports every channel that
 *   reaches it and the bytes on them.
 * - `garbage`: the identity `keyHex` writes a valid hello and then
 *   `bytes` of random bytes, and reports how the target ended the channel.
 * - `fuzz`: the identity `keyHex` (or a fresh one) runs `count` fuzz cases
 *   (fuzz-cases.ts), one channel each: writes the case, half-closes, and sees
 *   whether the target ends the channel cleanly or resets it. With
 *   `resetMayLookClean` (TLS), an invalid case that ends cleanly is counted
 *   as `resetSeenAsEnd`, not as a mismatch: after this end's half-close, the
 *   target's reset can reach it as a clean end (its close_notify write takes
 *   the ECONNRESET, which node drops, and the next read returns 0); the
 *   target's own log then tells the verdict.
 *
 * It prints JSON lines on stdout (`ready`, `progress`, `done` with its
 * figures) and stops on SIGTERM, SIGINT or the end of stdin.
 */
import { createServer, connect as tcpConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { WHOLE, encodeStreamOpening, frameTag, newIncarnation } from '../../src/core/link-protocol.ts'
import { GRPC_ALPN_PROTOCOL, GrpcTransport } from '../../src/transports/grpc/grpc-transport.ts'
import { parseGrpcAddress } from '../../src/transports/grpc/grpc-address.ts'
import { generateKey } from '../../src/transports/libp2p/keys.ts'
import { parseTlsAddress } from '../../src/transports/tls/tls-address.ts'
import { TLS_ALPN_PROTOCOL, TlsTransport } from '../../src/transports/tls/tls-transport.ts'
import { LANES, fuzzCase, mulberry32 } from './fuzz-cases.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { AddressInfo, Socket } from 'node:net'
import type { Bytes, Channel, Transport } from '../../src/core/transport.ts'

export type TlsTransportName = 'tls' | 'grpc'

/** A task, whichever transport it runs on. */
export type TlsTask =
  | { task: 'swarm', target: string, count: number, batch: number, hold: number, bytesPerPeer: number, frameBytes: number }
  | { task: 'stall', target: string, count: number, timeoutMs: number }
  | { task: 'impostor', target: string, messages: number }
  | { task: 'squatter', listen: string }
  | { task: 'garbage', target: string, keyHex: string, bytes: number, seed: number, timeoutMs: number }
  | { task: 'fuzz', target: string, count: number, seed: number, maxFrameBytes: number, keyHex?: string, caseTimeoutMs: number, resetMayLookClean?: boolean }

export type HostileTlsTask = { transport: TlsTransportName } & TlsTask

type Task<T extends HostileTlsTask['task']> = Extract<HostileTlsTask, { task: T }>

function emit (event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n')
}

const running = new Set<Transport>()
const stopping = new AbortController()

async function transportOf (name: TlsTransportName, key?: PrivateKey, listen: string[] = []): Promise<Transport> {
  const privateKey = key ?? await generateKey()
  const t = name === 'tls' ? await TlsTransport.create({ privateKey, listen }) : await GrpcTransport.create({ privateKey, listen })
  running.add(t)
  return t
}

async function dropTransport (t: Transport): Promise<void> {
  running.delete(t)
  await t.stop()
}

const keyOf = (hex: string | undefined): PrivateKey | undefined => hex === undefined ? undefined : privateKeyFromProtobuf(Buffer.from(hex, 'hex'))

type Outcome = 'clean' | 'reset' | 'timeout'

/** A dialed channel: writes that wait for drain (or the end), and how it ended. */
class Link {
  readonly channel: Channel
  /** Settles when the channel closes: undefined for a clean end, the error otherwise. */
  readonly closed: Promise<Error | undefined>
  isClosed = false
  /** The error it closed with, if any. */
  error?: Error
  #drained?: () => void

  constructor (channel: Channel) {
    this.channel = channel
    let resolve: (err?: Error) => void = () => {}
    this.closed = new Promise(r => { resolve = r })
    channel.setHandler({
      onData: () => {},
      onDrain: () => { this.#drained?.() },
      onIdle: () => {},
      onEnd: () => {},
      onClose: err => {
        this.isClosed = true
        this.error = err
        this.#drained?.()
        resolve(err)
      }
    })
  }

  /** Send, waiting for drain when the channel asks to; false once it is closed. */
  async write (data: Bytes): Promise<boolean> {
    if (this.isClosed) return false
    let more: boolean
    try {
      more = this.channel.send(data)
    } catch {
      return false
    }
    if (!more) await new Promise<void>(resolve => { this.#drained = resolve })
    this.#drained = undefined
    return !this.isClosed
  }

  /** How the target ended the channel, or 'timeout' (the channel is then aborted). */
  async outcome (timeoutMs: number): Promise<Outcome> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>(resolve => { timer = setTimeout(() => { resolve('timeout') }, timeoutMs) })
    const result = await Promise.race([this.closed.then(err => err === undefined ? 'clean' as const : 'reset' as const), timeout])
    clearTimeout(timer)
    if (result === 'timeout') this.channel.abort(new Error('hostile peer: timed out'))
    return result
  }
}

async function dial (t: Transport, target: string, timeoutMs = 20_000): Promise<Link> {
  return new Link(await t.dial(target, { signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stopping.signal]) }))
}

const hello = (): Uint8Array => encodeStreamOpening(newIncarnation(), new Array<number>(LANES).fill(0))

/** Whole messages on lane 0 of `messageBytes` each, `total` bytes of payload in all, as chunks of about one message. */
function frames (total: number, messageBytes: number, fill: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let sent = 0; sent < total; sent += messageBytes) {
    const body = Math.min(messageBytes, total - sent)
    const head: number[] = []
    let n = 1 + body
    do {
      head.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0))
      n >>>= 7
    } while (n > 0)
    head.push(frameTag(0, WHOLE))
    const chunk = new Uint8Array(head.length + body).fill(fill)
    chunk.set(head)
    out.push(chunk)
  }
  return out
}

async function swarm (task: Task<'swarm'>): Promise<void> {
  const payload = frames(task.bytesPerPeer, task.frameBytes, 0x5a)
  const held: Transport[] = []
  const writers: Array<Promise<void>> = []
  let opened = 0
  let refused = 0
  let evicted = 0
  const errors = new Map<string, number>()
  const started = Date.now()
  for (let i = 0; i < task.count && !stopping.signal.aborted; i += task.batch) {
    const n = Math.min(task.batch, task.count - i)
    await Promise.all(Array.from({ length: n }, async () => {
      const t = await transportOf(task.transport)
      held.push(t)
      try {
        const link = await dial(t, task.target)
        if (!await link.write(hello())) throw new Error('closed at the hello')
        opened++
        // the rest goes on as far as the target reads it; the swarm does not wait for it
        writers.push((async () => {
          for (const chunk of payload) if (!await link.write(chunk)) break
          if (link.isClosed) evicted++
        })())
      } catch (err) {
        refused++
        const name = (err as Error).name
        errors.set(name, (errors.get(name) ?? 0) + 1)
      }
    }))
    while (held.length > task.hold) await dropTransport(held.shift() as Transport)
    emit('progress', { attempted: i + n, opened, refused })
  }
  emit('done', { opened, refused, closedWhileWriting: evicted, errors: Object.fromEntries(errors), held: held.length, ms: Date.now() - started })
  // stopping the transports ends the writers that still wait for a drain
  void Promise.all(writers)
}

/** The first TLS record a client writes (its ClientHello), with the transport's ALPN, caught on a local socket. */
async function clientHello (transport: TlsTransportName): Promise<Buffer> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const got = new Promise<Buffer>(resolve => {
    server.once('connection', socket => {
      socket.once('data', (data: Buffer) => { resolve(data); socket.destroy() })
    })
  })
  const client = tlsConnect({ host: '127.0.0.1', port, minVersion: 'TLSv1.3', ALPNProtocols: [transport === 'tls' ? TLS_ALPN_PROTOCOL : GRPC_ALPN_PROTOCOL], rejectUnauthorized: false })
  client.on('error', () => {})
  const hello = await got
  client.destroy()
  await new Promise(resolve => server.close(resolve))
  return hello
}

async function stall (task: Task<'stall'>): Promise<void> {
  const { host, port } = task.transport === 'tls' ? parseTlsAddress(task.target, true) : parseGrpcAddress(task.target, true)
  const helloBytes = await clientHello(task.transport)
  const halfHello = helloBytes.subarray(0, helloBytes.byteLength >> 1)
  const sockets: Socket[] = []
  const closeMs: number[] = []
  let stillOpen = 0
  const started = Date.now()
  await Promise.all(Array.from({ length: task.count }, async (_, i) => {
    const socket = tcpConnect({ host, port })
    sockets.push(socket)
    socket.on('error', () => {})
    socket.resume()
    const opened = await new Promise<number | undefined>(resolve => {
      socket.once('connect', () => { resolve(Date.now()) })
      socket.once('close', () => { resolve(undefined) })
    })
    if (opened === undefined) {
      closeMs.push(0)
      return
    }
    if (i % 2 === 1) socket.write(halfHello)
    const closedAt = await new Promise<number | undefined>(resolve => {
      const timer = setTimeout(() => { resolve(undefined) }, task.timeoutMs)
      socket.once('close', () => { clearTimeout(timer); resolve(Date.now()) })
    })
    if (closedAt === undefined) {
      stillOpen++
      socket.destroy()
    } else {
      closeMs.push(closedAt - opened)
    }
  }))
  emit('done', { connections: task.count, closedByTarget: closeMs.length, stillOpen, closeMs, halfHelloBytes: halfHello.byteLength, ms: Date.now() - started })
}

async function impostor (task: Task<'impostor'>): Promise<void> {
  const t = await transportOf(task.transport)
  emit('ready', { peerId: t.localIdentity })
  const link = await dial(t, task.target)
  await link.write(hello())
  const enc = new TextEncoder()
  for (let i = 0; i < task.messages; i++) {
    const text = enc.encode(`impostor:${i}`)
    await link.write(Uint8Array.from([1 + text.byteLength, frameTag(0, WHOLE), ...text]))
  }
  emit('done', { sent: task.messages, closed: link.isClosed })
}

async function squatter (task: Task<'squatter'>): Promise<void> {
  const t = await transportOf(task.transport, undefined, [task.listen])
  let channels = 0
  let bytes = 0
  await t.start(channel => {
    channels++
    emit('channel', { remote: channel.remoteIdentity, channels })
    channel.setHandler({ onData: data => { bytes += data.byteLength }, onDrain: () => {}, onIdle: () => {}, onEnd: () => {}, onClose: () => {} })
  })
  emit('ready', { peerId: t.localIdentity, listen: t.listenAddresses() })
  await new Promise(resolve => stopping.signal.addEventListener('abort', resolve))
  emit('done', { channels, bytes })
}

async function garbage (task: Task<'garbage'>): Promise<void> {
  const t = await transportOf(task.transport, keyOf(task.keyHex))
  emit('ready', { peerId: t.localIdentity })
  const random = mulberry32(task.seed)
  const junk = Uint8Array.from({ length: task.bytes }, () => Math.floor(random() * 256))
  const link = await dial(t, task.target)
  const started = Date.now()
  await link.write(hello())
  // without a half-close: the target must end the channel of its own accord
  for (let at = 0; at < junk.byteLength && !link.isClosed; at += 1024) await link.write(junk.subarray(at, at + 1024))
  const outcome = await link.outcome(task.timeoutMs)
  emit('done', { outcome, closeMs: Date.now() - started, error: link.error?.name, message: link.error?.message })
}

async function fuzz (task: Task<'fuzz'>): Promise<void> {
  const t = await transportOf(task.transport, keyOf(task.keyHex))
  emit('ready', { peerId: t.localIdentity })
  const random = mulberry32(task.seed)
  const counts = { clean: 0, reset: 0, timeout: 0, mismatched: 0, invalid: 0, resetSeenAsEnd: 0, dialFailures: 0, bytes: 0, validMessages: 0 }
  const byKind: Record<string, Partial<Record<Outcome, number>>> = {}
  const mismatches: Array<Record<string, unknown>> = []
  const started = Date.now()
  for (let i = 0; i < task.count && !stopping.signal.aborted; i++) {
    const c = fuzzCase(random, task.maxFrameBytes)
    counts.bytes += c.bytes.byteLength
    counts.validMessages += c.messages
    if (!c.valid) counts.invalid++
    let link: Link
    try {
      link = await dial(t, task.target)
    } catch (err) {
      counts.dialFailures++
      if (mismatches.length < 10) mismatches.push({ i, kind: c.kind, dialFailed: (err as Error).message })
      continue
    }
    // the target may reset the channel while we write: that is an outcome, not a failure
    for (const chunk of c.chunks) if (!await link.write(chunk)) break
    if (!link.isClosed) void link.channel.close().catch(() => {})
    const outcome = await link.outcome(task.caseTimeoutMs)
    counts[outcome]++
    const kind = byKind[c.kind] ??= {}
    kind[outcome] = (kind[outcome] ?? 0) + 1
    const expected: Outcome = c.valid ? 'clean' : 'reset'
    if (outcome === 'clean' && !c.valid && task.resetMayLookClean === true) {
      counts.resetSeenAsEnd++
    } else if (outcome !== expected) {
      counts.mismatched++
      if (mismatches.length < 10) mismatches.push({ i, kind: c.kind, expected, outcome, head: Buffer.from(c.bytes.subarray(0, 24)).toString('hex'), length: c.bytes.byteLength })
    }
    if ((i + 1) % 100 === 0) emit('progress', { cases: i + 1, ...counts })
  }
  emit('done', { cases: task.count, ...counts, byKind, mismatches, ms: Date.now() - started })
}

async function main (): Promise<void> {
  const task = JSON.parse(process.argv[2]) as HostileTlsTask
  const stop = (): void => { stopping.abort() }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  process.stdin.once('end', stop)
  process.stdin.resume()
  try {
    if (task.task === 'swarm') await swarm(task)
    else if (task.task === 'stall') await stall(task)
    else if (task.task === 'impostor') await impostor(task)
    else if (task.task === 'squatter') await squatter(task)
    else if (task.task === 'garbage') await garbage(task)
    else await fuzz(task)
  } catch (err) {
    emit('error', { name: (err as Error).name, message: (err as Error).message })
  }
  if (!stopping.signal.aborted) await new Promise(resolve => stopping.signal.addEventListener('abort', resolve))
  process.stdin.pause()
  await Promise.all([...running].map(async t => { await t.stop() }))
}

await main()
