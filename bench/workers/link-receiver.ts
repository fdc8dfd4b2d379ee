/**
 * Receiving side of a link pair (see bench/lib/link-pair.ts), one system per
 * process: `node bench/workers/link-receiver.ts <system>`, forked with IPC.
 * Counts delivered messages and bytes since the last `reset` and when the
 * last of them arrived; answers `await` once a given count is reached.
 */
import { once } from 'node:events'
import { createServer } from 'node:net'
import { DEFAULT_MAX_FRAME_BYTES } from '../../src/core/constants.ts'
import { FrameDecoder, viewSink } from '../../src/core/frame-codec.ts'
import { NetworkModule } from '../../src/core/network-module.ts'
import { generateKey } from '../../src/transports/libp2p/keys.ts'
import { createLinkTransport } from './link-transport.ts'
import { epochMs } from '../lib/link-pair.ts'
import { BENCH_PROTOCOL, createPlainNode } from './link-plain-libp2p.ts'
import { initArg, reply, serve, systemArg } from './link-ipc.ts'
import { percentile } from '../lib/stats.ts'
import { monotonicMs, voteSentAt } from '../lib/votes.ts'
import type { AddressInfo, Socket } from 'node:net'
import type { FromWorker, PeerInfo, ToReceiver } from '../lib/link-pair.ts'
import type { Worker } from './link-ipc.ts'
import type { LinkTransportKind } from './link-transport.ts'

const ENTRY = 'bench/workers/link-receiver.ts'
const NODE_ID = 'receiver'
const CONNECT_TIMEOUT_MS = 15_000
const TAKE_BATCH = 4096

interface Target {
  messages: number
  timer: NodeJS.Timeout
}

/** Delivered counts since the last reset, answering at most one `await` at a time. */
class DeliveryCounter {
  messages = 0
  bytes = 0
  /** Epoch ms of the last delivery. */
  lastAt = 0
  /** One-way latency (ms) of the votes since the reset, when recording them. */
  #votes?: number[]
  #target?: Target

  /** A decoder sink: counts one payload (and takes a vote's latency). */
  readonly sink = (payload: Uint8Array): boolean => {
    this.messages++
    this.bytes += payload.byteLength
    if (this.#votes !== undefined) {
      const sentAt = voteSentAt(payload)
      if (sentAt !== undefined) this.#votes.push(monotonicMs() - sentAt)
    }
    return true
  }

  /** The votes' latency since the reset. */
  votes (): Extract<FromWorker, { type: 'votes' }> {
    const v = this.#votes ?? []
    return { type: 'votes', n: v.length, p50Ms: percentile(v, 50), p99Ms: percentile(v, 99), maxMs: v.length === 0 ? Number.NaN : v.reduce((a, b) => Math.max(a, b)) }
  }

  /** After a chunk of deliveries: stamp the time, answer a reached target. */
  delivered (): void {
    this.lastAt = epochMs()
    if (this.#target !== undefined && this.messages >= this.#target.messages) this.#reply()
  }

  reset (votes = false): void {
    this.cancel()
    this.#votes = votes ? [] : undefined
    this.messages = 0
    this.bytes = 0
    this.lastAt = 0
  }

  expect (messages: number, timeoutMs: number): void {
    this.cancel()
    this.#target = { messages, timer: setTimeout(() => { this.#reply() }, timeoutMs) }
    if (this.messages >= messages) this.#reply()
  }

  cancel (): void {
    if (this.#target !== undefined) clearTimeout(this.#target.timer)
    this.#target = undefined
  }

  #reply (): void {
    this.cancel()
    reply({ type: 'counts', messages: this.messages, bytes: this.bytes, at: this.lastAt })
  }
}

const counter = new DeliveryCounter()

async function mirnetReceiver (kind: LinkTransportKind = 'libp2p'): Promise<Worker<ToReceiver>> {
  const transport = await createLinkTransport(kind, await generateKey())
  const module = new NetworkModule({ transport }, { ...initArg(), nodeId: NODE_ID })
  await module.start()
  const inbox = module.inbox
  const consuming = (async () => {
    while (await inbox.wait()) {
      for (const m of inbox.take(TAKE_BATCH)) counter.sink(m.payload)
      counter.delivered()
    }
  })()
  return worker({ nodeId: NODE_ID, address: module.listenAddresses()[0] ?? '' }, async peer => {
    module.connect([{ id: NODE_ID, address: module.listenAddresses()[0] ?? '' }, { id: peer.nodeId, address: peer.address }])
    await module.waitFor(2, { signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS) })
  }, async () => {
    await module.close()
    await consuming
  })
}

async function rawTcpReceiver (): Promise<Worker<ToReceiver>> {
  const sockets = new Set<Socket>()
  const server = createServer({ noDelay: true }, socket => {
    sockets.add(socket)
    const decoder = new FrameDecoder(DEFAULT_MAX_FRAME_BYTES, viewSink(counter.sink))
    socket.on('data', chunk => {
      decoder.push(chunk)
      counter.delivered()
    })
    socket.on('error', err => { reply({ type: 'error', message: `raw-tcp receiver socket: ${err.message}` }) })
    socket.on('close', () => { sockets.delete(socket) })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { address, port } = server.address() as AddressInfo
  return worker({ nodeId: NODE_ID, address: `${address}:${port}` }, async () => {}, async () => {
    for (const s of sockets) s.destroy()
    server.close()
    await once(server, 'close')
  })
}

async function libp2pReceiver (): Promise<Worker<ToReceiver>> {
  const node = await createPlainNode()
  await node.handle(BENCH_PROTOCOL, stream => {
    stream.inactivityTimeout = 0
    const decoder = new FrameDecoder(DEFAULT_MAX_FRAME_BYTES, viewSink(counter.sink))
    stream.addEventListener('message', evt => {
      decoder.push(evt.data)
      counter.delivered()
    })
  })
  return worker({ nodeId: NODE_ID, address: node.getMultiaddrs()[0].toString() }, async () => {}, async () => {
    await node.stop()
  })
}

function worker (self: PeerInfo, connect: (peer: PeerInfo) => Promise<void>, close: () => Promise<void>): Worker<ToReceiver> {
  return {
    peer: self,
    close: async () => {
      counter.cancel()
      await close()
    },
    handle: async message => {
      switch (message.type) {
        case 'connect':
          await connect(message.peer)
          reply({ type: 'connected' })
          break
        case 'reset':
          counter.reset(message.votes === true)
          reply({ type: 'reset' })
          break
        case 'votes':
          reply(counter.votes())
          break
        case 'await':
          counter.expect(message.messages, message.timeoutMs)
          break
      }
    }
  }
}

const STARTERS = { mirnet: async () => await mirnetReceiver(), 'mirnet-tls': async () => await mirnetReceiver('tls'), 'mirnet-grpc': async () => await mirnetReceiver('grpc'), 'raw-tcp': rawTcpReceiver, 'raw-tcp-batched': rawTcpReceiver, 'libp2p-per-message': libp2pReceiver }

await serve(ENTRY, async () => await STARTERS[systemArg(ENTRY)]())
