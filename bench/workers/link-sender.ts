/**
 * Sending side of a link pair (see bench/lib/link-pair.ts), one system per
 * process: `node bench/workers/link-sender.ts <system>`, forked with IPC.
 * Each `run` sends one payload size for a fixed time, as fast as the system
 * accepts, and reports what it sent once it has all left its queue. A `hol`
 * run (mirnet only) paces stamped votes on one lane while bulk messages keep
 * another lane's queue full.
 */
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect as tcpConnect } from 'node:net'
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeHeader } from '../../src/core/frame-codec.ts'
import { NetworkModule } from '../../src/core/network-module.ts'
import { generateKey } from '../../src/transports/libp2p/keys.ts'
import { createLinkTransport } from './link-transport.ts'
import { FrameBatcher } from './frame-batcher.ts'
import { laneNumber } from '../../src/core/lanes.ts'
import { epochMs } from '../lib/link-pair.ts'
import { percentile } from '../lib/stats.ts'
import { VOTE_BYTES, makeVote, monotonicMs } from '../lib/votes.ts'
import { BENCH_PROTOCOL, createPlainNode } from './link-plain-libp2p.ts'
import { initArg, reply, serve, systemArg } from './link-ipc.ts'
import type { Socket } from 'node:net'
import type { Stream } from '@libp2p/interface'
import type { NetworkModule as Module, PeerStats } from '../../src/index.ts'
import type { FromWorker, HolPlan, PeerInfo, ToSender } from '../lib/link-pair.ts'
import type { Worker } from './link-ipc.ts'
import type { LinkTransportKind } from './link-transport.ts'

const ENTRY = 'bench/workers/link-sender.ts'
const NODE_ID = 'sender'
const CONNECT_TIMEOUT_MS = 15_000
/** Writes between two checks of the clock (baselines). */
const BURST = 256
/** Messages framed between two checks of the clock (`raw-tcp-batched`; a turn usually ends sooner, at a full batch the socket asks to drain). */
const BATCHED_BURST = 1024

interface Sent {
  messages: number
  bytes: number
  dropped: number
  startedAt: number
}

type Run = (payload: Uint8Array, seconds: number) => Promise<Sent>
type Hol = (plan: HolPlan) => Promise<Extract<FromWorker, { type: 'hol-sent' }>>

/** Room a bulk filler leaves in a shared queue, so that votes queued meanwhile push nothing out. */
const VOTE_HEADROOM = 64
const PACE_TICK_MS = 1

/** Header and payload in one buffer: what the baselines write per message. */
function framed (payload: Uint8Array): Uint8Array {
  return Buffer.concat([encodeHeader(payload.byteLength), payload])
}

async function mirnetSender (kind: LinkTransportKind = 'libp2p'): Promise<Worker<ToSender>> {
  const transport = await createLinkTransport(kind, await generateKey())
  const module = new NetworkModule({ transport }, { ...initArg(), nodeId: NODE_ID })
  await module.start()
  let destination = ''
  const peerStats = (): PeerStats => {
    const stats = module.stats().peers.find(p => p.nodeId === destination)
    if (stats === undefined) throw new Error(`node "${destination}" is not a member`)
    return stats
  }
  const { queueCapacity, queueMaxBytes } = module.config
  const run: Run = async (payload, seconds) => {
    const before = peerStats()
    const startedAt = epochMs()
    const deadline = performance.now() + seconds * 1000
    while (performance.now() < deadline) {
      const { queued, queuedBytes } = peerStats()
      const room = Math.min(queueCapacity - queued, Math.floor((queueMaxBytes - queuedBytes) / payload.byteLength))
      for (let i = 0; i < room; i++) module.sendTo(destination, payload)
      // a full queue waits on the network: let it go out before polling again
      if (room > 0) await nextTurn()
      else await sleep(0)
    }
    while (peerStats().queued > 0) await sleep(0)
    const after = peerStats()
    if (after.state !== 'open') throw new Error(`the link to "${destination}" is ${after.state}: ${after.lastError ?? ''}`)
    return {
      messages: after.sentMessages - before.sentMessages,
      bytes: after.sentBytes - before.sentBytes,
      dropped: after.droppedMessages - before.droppedMessages,
      startedAt
    }
  }
  return worker({ nodeId: NODE_ID, address: module.listenAddresses()[0] ?? '' }, async peer => {
    destination = peer.nodeId
    module.connect([{ id: NODE_ID, address: module.listenAddresses()[0] ?? '' }, { id: peer.nodeId, address: peer.address }])
    await module.waitFor(2, { signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS) })
  }, run, async () => { await module.close() }, plan => holRun(module, destination, peerStats, plan))
}

/**
 * Votes paced at `voteRate` (a 1 ms timer sends what is due, each stamped as
 * it is handed to the module) while bulk messages keep the bulk lane's queue
 * full, short of a headroom: as fast as the queue takes them, never pushing
 * a vote out when both share a lane. Returns once every queue is empty.
 */
async function holRun (module: Module, destination: string, peerStats: () => PeerStats, plan: HolPlan): Promise<Extract<FromWorker, { type: 'hol-sent' }>> {
  const { lanes, defaultLane } = module.config
  const voteLane = laneNumber(lanes, plan.voteLane, defaultLane)
  const bulkLane = laneNumber(lanes, plan.bulkLane, defaultLane)
  const before = peerStats()
  const startedAt = epochMs()
  const t0 = performance.now()
  const deadline = t0 + plan.seconds * 1000
  const intervalMs = 1000 / plan.voteRate
  let votes = 0
  const late: number[] = []
  const pacing = (async () => {
    for (let now = performance.now(); now < deadline; now = performance.now()) {
      // the votes due by now, the first at t0
      const due = Math.floor((now - t0) / intervalMs) + 1
      for (; votes < due; votes++) {
        late.push(now - (t0 + votes * intervalMs))
        module.sendTo(destination, makeVote(monotonicMs()), voteLane)
      }
      await sleep(PACE_TICK_MS)
    }
  })()
  let bulkMessages = 0
  if (plan.bulkBytes > 0) {
    const payload = new Uint8Array(randomBytes(plan.bulkBytes))
    payload[0] = 0
    const lane = lanes[bulkLane]
    while (performance.now() < deadline) {
      // peer totals: the real lane's, plus what else is queued (votes), so the shared-lane case keeps its headroom
      const { queued, queuedBytes } = peerStats()
      const room = Math.min(lane.queueCapacity - VOTE_HEADROOM - queued,
        Math.floor((lane.queueMaxBytes - VOTE_HEADROOM * VOTE_BYTES - queuedBytes) / plan.bulkBytes))
      for (let i = 0; i < room; i++) module.sendTo(destination, payload, bulkLane)
      if (room > 0) {
        bulkMessages += room
        await nextTurn()
      } else {
        await sleep(0)
      }
    }
  }
  await pacing
  while (peerStats().queued > 0) await sleep(1)
  const after = peerStats()
  if (after.state !== 'open') throw new Error(`the link to "${destination}" is ${after.state}: ${after.lastError ?? ''}`)
  const laneDropped = (n: number): number => (after.lanes[n]?.droppedMessages ?? 0) - (before.lanes[n]?.droppedMessages ?? 0)
  return {
    type: 'hol-sent',
    votes,
    bulkMessages,
    bulkBytes: bulkMessages * plan.bulkBytes,
    sentMessages: after.sentMessages - before.sentMessages,
    voteLaneDropped: laneDropped(voteLane),
    bulkLaneDropped: voteLane === bulkLane ? 0 : laneDropped(bulkLane),
    droppedMessages: after.droppedMessages - before.droppedMessages,
    lateP99Ms: percentile(late, 99),
    lateMaxMs: late.reduce((a, b) => Math.max(a, b), 0),
    startedAt
  }
}

/** Resolves on the writer's next `drain` event, rejects if it closes first. */
async function nextDrain (target: Socket | Stream): Promise<void> {
  if (target instanceof EventTarget) {
    await new Promise<void>((resolve, reject) => {
      const onClose = (): void => { reject(new Error('the stream closed while waiting for drain')) }
      target.addEventListener('drain', () => { target.removeEventListener('close', onClose); resolve() }, { once: true })
      target.addEventListener('close', onClose, { once: true })
    })
  } else {
    await once(target, 'drain')
  }
}

/** Write `frame` with `write` until the deadline, waiting for drain whenever it asks. */
async function sendFramesFor (write: (frame: Uint8Array) => boolean, target: Socket | Stream, payload: Uint8Array, seconds: number): Promise<Sent> {
  const frame = framed(payload)
  let messages = 0
  const startedAt = epochMs()
  const deadline = performance.now() + seconds * 1000
  while (performance.now() < deadline) {
    let more = true
    for (let i = 0; i < BURST && more; i++) {
      more = write(frame)
      messages++
    }
    if (more) await nextTurn()
    else await nextDrain(target)
  }
  return { messages, bytes: messages * payload.byteLength, dropped: 0, startedAt }
}

/**
 * `raw-tcp-batched`: messages framed into 64 KiB writes ({@link FrameBatcher}),
 * the socket corked for each event-loop turn, waiting for drain whenever a
 * write asks.
 */
async function sendBatchedFor (socket: Socket, payload: Uint8Array, seconds: number): Promise<Sent> {
  const batcher = new FrameBatcher(socket)
  let messages = 0
  const startedAt = epochMs()
  const deadline = performance.now() + seconds * 1000
  while (performance.now() < deadline) {
    socket.cork()
    let more = true
    for (let i = 0; i < BATCHED_BURST && more; i++) {
      more = batcher.add(payload)
      messages++
    }
    more = batcher.flush() && more
    socket.uncork()
    if (more) await nextTurn()
    else await nextDrain(socket)
  }
  return { messages, bytes: messages * payload.byteLength, dropped: 0, startedAt }
}

async function rawTcpSender (batched: boolean): Promise<Worker<ToSender>> {
  let socket: Socket | undefined
  return worker({ nodeId: NODE_ID, address: '' }, async peer => {
    const [host, port] = peer.address.split(':')
    const s = tcpConnect({ host, port: Number(port), noDelay: true })
    socket = s
    await once(s, 'connect', { signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS) })
  }, async (payload, seconds) => {
    const s = socket as Socket
    if (batched) return await sendBatchedFor(s, payload, seconds)
    return await sendFramesFor(frame => s.write(frame), s, payload, seconds)
  }, async () => {
    if (socket === undefined) return
    const closed = once(socket, 'close')
    socket.end()
    await closed
  })
}

async function libp2pSender (): Promise<Worker<ToSender>> {
  const node = await createPlainNode()
  let stream: Stream | undefined
  return worker({ nodeId: NODE_ID, address: node.getMultiaddrs()[0].toString() }, async peer => {
    stream = await node.dialProtocol(multiaddr(peer.address), BENCH_PROTOCOL, { signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS) })
    stream.inactivityTimeout = 0
  }, async (payload, seconds) => {
    const s = stream as Stream
    return await sendFramesFor(frame => s.send(frame), s, payload, seconds)
  }, async () => {
    await stream?.close()
    await node.stop()
  })
}

function worker (self: PeerInfo, connect: (peer: PeerInfo) => Promise<void>, run: Run, close: () => Promise<void>, hol?: Hol): Worker<ToSender> {
  return {
    peer: self,
    close,
    handle: async message => {
      switch (message.type) {
        case 'connect':
          await connect(message.peer)
          reply({ type: 'connected' })
          break
        case 'run': {
          const payload = crypto.getRandomValues(new Uint8Array(message.payloadBytes))
          reply({ type: 'sent', ...await run(payload, message.seconds) })
          break
        }
        case 'hol': {
          if (hol === undefined) throw new Error('hol rounds need system mirnet')
          reply(await hol(message))
          break
        }
      }
    }
  }
}

const STARTERS = { mirnet: async () => await mirnetSender(), 'mirnet-tls': async () => await mirnetSender('tls'), 'mirnet-grpc': async () => await mirnetSender('grpc'), 'raw-tcp': async () => await rawTcpSender(false), 'raw-tcp-batched': async () => await rawTcpSender(true), 'libp2p-per-message': libp2pSender }

await serve(ENTRY, async () => await STARTERS[systemArg(ENTRY)]())
