/**
 * A hostile libp2p peer for the fault suite, run as its own process (so many
 * identities and their sockets stay out of the test process):
 *
 *   node test/faults/hostile-peer.ts '<json HostileTask>'
 *
 * Tasks:
 * - `swarm`: `count` fresh random identities, `batch` at a time, each dials
 *   the target, opens a `/mirnet/3.0.0` stream and writes `bytesPerPeer` of
 *   valid frames; the most recent `hold` peers stay connected.
 * - `impostor`: one fresh identity that writes `messages` numbered frames
 *   (`impostor:<n>`) and stays connected.
 * - `squatter`: one fresh identity listening on `listen` (a member's address,
 *   taken while the member is down) that counts the `/mirnet/3.0.0` streams
 *   and bytes anyone manages to open to it.
 * - `fuzz`: one identity (`keyHex`, the protobuf private key in hex, or a
 *   fresh one) runs `count` fuzz cases, one stream each (see fuzz-cases.ts;
 *   a case brings its own hello, mostly a valid version 3 one), and checks
 *   that the target resets exactly the invalid ones and that its connection
 *   survives every case.
 *
 * Streams open as a version 3 Dispatcher opens them: a hello naming the
 * target's 3 lanes with nothing retained. Messages go on lane 0 as whole
 * messages (a length, the tag byte 0, the payload).
 *
 * It prints JSON lines on stdout (`ready` with its peer id where it has one,
 * `progress`, then `done` with its figures) and stops on SIGTERM, SIGINT or
 * the end of stdin.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { PROTOCOL_ID } from '../../src/transports/libp2p/protocol-id.ts'
import { WHOLE, encodeStreamOpening, frameTag, newIncarnation } from '../../src/core/link-protocol.ts'
import { generateKey } from '../../src/transports/libp2p/keys.ts'
import { LANES, fuzzCase, mulberry32 } from './fuzz-cases.ts'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'

export type HostileTask =
  | { task: 'swarm', target: string, count: number, batch: number, hold: number, bytesPerPeer: number, frameBytes: number }
  | { task: 'impostor', target: string, messages: number }
  | { task: 'squatter', listen: string }
  | { task: 'fuzz', target: string, count: number, seed: number, maxFrameBytes: number, keyHex?: string, caseTimeoutMs: number }

function emit (event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n')
}

async function node (key?: PrivateKey): Promise<Libp2p> {
  return await createLibp2p({
    privateKey: key ?? await generateKey(),
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // nothing of its own to protect: let every dial through
    connectionManager: { maxConnections: 10_000 }
  })
}

/** Whole messages on lane 0 of `messageBytes` each, `total` bytes of payload in all. */
function frames (total: number, messageBytes: number, fill: number): Uint8Array {
  const out: number[] = []
  for (let sent = 0; sent < total; sent += messageBytes) {
    const body = Math.min(messageBytes, total - sent)
    let n = 1 + body
    do {
      out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0))
      n >>>= 7
    } while (n > 0)
    out.push(frameTag(0, WHOLE))
    for (let i = 0; i < body; i++) out.push(fill)
  }
  return Uint8Array.from(out)
}

async function sendAll (stream: Stream, data: Uint8Array): Promise<void> {
  if (!stream.send(data)) await stream.onDrain()
}

/**
 * A `/mirnet/3.0.0` stream with a version 3 hello written (nothing retained on
 * any lane), as a Dispatcher opens one: what follows is read as message
 * frames. With `hello: false` nothing is written: the caller writes its own.
 */
async function openMirnetStream (peer: Libp2p, target: ReturnType<typeof multiaddr>, options: { signal?: AbortSignal, hello?: boolean } = {}): Promise<Stream> {
  const stream = await peer.dialProtocol(target, PROTOCOL_ID, { signal: options.signal })
  if (options.hello !== false) await sendAll(stream, encodeStreamOpening(newIncarnation(), new Array<number>(LANES).fill(0)))
  return stream
}

const running = new Set<Libp2p>()
const stopping = new AbortController()

async function swarm (task: Extract<HostileTask, { task: 'swarm' }>): Promise<void> {
  const target = multiaddr(task.target)
  const payload = frames(task.bytesPerPeer, task.frameBytes, 0x5a)
  const held: Libp2p[] = []
  let opened = 0
  let refused = 0
  const errors = new Map<string, number>()
  const started = Date.now()
  for (let i = 0; i < task.count && !stopping.signal.aborted; i += task.batch) {
    const n = Math.min(task.batch, task.count - i)
    await Promise.all(Array.from({ length: n }, async () => {
      const peer = await node()
      running.add(peer)
      held.push(peer)
      try {
        await peer.start()
        const stream = await openMirnetStream(peer, target, { signal: AbortSignal.timeout(20_000) })
        await sendAll(stream, payload)
        opened++
      } catch (err) {
        refused++
        const name = (err as Error).name
        errors.set(name, (errors.get(name) ?? 0) + 1)
      }
    }))
    while (held.length > task.hold) {
      const old = held.shift() as Libp2p
      running.delete(old)
      await old.stop()
    }
    emit('progress', { attempted: i + n, opened, refused })
  }
  emit('done', { opened, refused, errors: Object.fromEntries(errors), held: held.length, ms: Date.now() - started })
}

async function impostor (task: Extract<HostileTask, { task: 'impostor' }>): Promise<void> {
  const peer = await node()
  running.add(peer)
  await peer.start()
  emit('ready', { peerId: peer.peerId.toString() })
  const stream = await openMirnetStream(peer, multiaddr(task.target))
  const enc = new TextEncoder()
  for (let i = 0; i < task.messages; i++) {
    const text = enc.encode(`impostor:${i}`)
    await sendAll(stream, Uint8Array.from([1 + text.byteLength, frameTag(0, WHOLE), ...text]))
  }
  emit('done', { sent: task.messages, streamStatus: stream.status })
}

async function squatter (task: Extract<HostileTask, { task: 'squatter' }>): Promise<void> {
  const peer = await createLibp2p({
    privateKey: await generateKey(),
    addresses: { listen: [task.listen] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
  running.add(peer)
  let streams = 0
  let bytes = 0
  await peer.handle(PROTOCOL_ID, stream => {
    streams++
    emit('stream', { streams })
    stream.addEventListener('message', evt => { bytes += evt.data.byteLength })
  })
  peer.addEventListener('connection:open', evt => { emit('connection', { remote: evt.detail.remotePeer.toString() }) })
  await peer.start()
  emit('ready', { peerId: peer.peerId.toString(), listen: peer.getMultiaddrs().map(ma => ma.toString()) })
  await new Promise(resolve => stopping.signal.addEventListener('abort', resolve))
  emit('done', { streams, bytes })
}

type Outcome = 'clean' | 'reset' | 'timeout'

/** Write one case (its own hello included) on a fresh stream, chunk by chunk, half-close, and see how the target ends the stream. */
async function runCase (peer: Libp2p, target: ReturnType<typeof multiaddr>, chunks: Uint8Array[], timeoutMs: number): Promise<Outcome> {
  const stream = await openMirnetStream(peer, target, { hello: false })
  const closed = new Promise<Outcome>(resolve => {
    stream.addEventListener('close', evt => { resolve(evt.error === undefined ? 'clean' : 'reset') }, { once: true })
  })
  // the target may reset the stream while we write or half-close: that is an outcome, not a failure
  try {
    for (const chunk of chunks) await sendAll(stream, chunk)
    await stream.close()
  } catch {}
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<Outcome>(resolve => { timer = setTimeout(() => { resolve('timeout') }, timeoutMs) })
  const outcome = await Promise.race([closed, timeout])
  clearTimeout(timer)
  if (outcome === 'timeout') stream.abort(new Error('fuzz case timed out'))
  return outcome
}

async function fuzz (task: Extract<HostileTask, { task: 'fuzz' }>): Promise<void> {
  const key = task.keyHex === undefined ? undefined : privateKeyFromProtobuf(Buffer.from(task.keyHex, 'hex'))
  const peer = await node(key)
  running.add(peer)
  await peer.start()
  emit('ready', { peerId: peer.peerId.toString() })
  const target = multiaddr(task.target)
  const random = mulberry32(task.seed)
  const counts = { clean: 0, reset: 0, timeout: 0, mismatched: 0, connectionsLost: 0, bytes: 0, validMessages: 0 }
  /** Per kind of case, its outcomes. */
  const byKind: Record<string, Partial<Record<Outcome, number>>> = {}
  const mismatches: Array<Record<string, unknown>> = []
  const started = Date.now()
  let connection = (await peer.dial(target)).id
  for (let i = 0; i < task.count && !stopping.signal.aborted; i++) {
    const c = fuzzCase(random, task.maxFrameBytes)
    counts.bytes += c.bytes.byteLength
    counts.validMessages += c.messages
    const outcome = await runCase(peer, target, c.chunks, task.caseTimeoutMs)
    counts[outcome]++
    const kind = byKind[c.kind] ??= {}
    kind[outcome] = (kind[outcome] ?? 0) + 1
    const expected: Outcome = c.valid ? 'clean' : 'reset'
    if (outcome !== expected) {
      counts.mismatched++
      if (mismatches.length < 10) mismatches.push({ i, kind: c.kind, expected, outcome, head: Buffer.from(c.bytes.subarray(0, 24)).toString('hex'), length: c.bytes.byteLength })
    }
    // the only peer it talks to is the target
    const now = peer.getConnections()[0]
    if (now?.id !== connection) {
      counts.connectionsLost++
      connection = (await peer.dial(target)).id
    }
    if ((i + 1) % 500 === 0) emit('progress', { cases: i + 1, ...counts })
  }
  emit('done', { cases: task.count, ...counts, byKind, mismatches, ms: Date.now() - started })
}

async function main (): Promise<void> {
  const task = JSON.parse(process.argv[2]) as HostileTask
  const stop = (): void => { stopping.abort() }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  process.stdin.once('end', stop)
  process.stdin.resume()
  try {
    if (task.task === 'swarm') await swarm(task)
    else if (task.task === 'impostor') await impostor(task)
    else if (task.task === 'squatter') await squatter(task)
    else await fuzz(task)
  } catch (err) {
    emit('error', { name: (err as Error).name, message: (err as Error).message })
  }
  if (!stopping.signal.aborted) await new Promise(resolve => stopping.signal.addEventListener('abort', resolve))
  process.stdin.pause()
  await Promise.all([...running].map(async p => { await p.stop() }))
}

await main()
