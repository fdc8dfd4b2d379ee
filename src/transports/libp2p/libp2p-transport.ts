import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { MiB } from '../../core/constants.ts'
import { PROTOCOL_ID } from './protocol-id.ts'
import { InvalidAddressError, MissingPeerIdError } from '../../core/errors.ts'
import { Libp2pChannel } from './libp2p-channel.ts'
import { libp2pLogger } from './libp2p-logger.ts'
import { noiseCrypto } from './noise-crypto.ts'
import { withQuietFrameDecoder } from './noise-frame-length.ts'
import type { Channel, DialOptions, Transport } from '../../core/transport.ts'
import type { Logger } from '../../core/logger.ts'
import type { Libp2p, PrivateKey, Stream, Connection } from '@libp2p/interface'

export interface Libp2pTransportInit {
  privateKey: PrivateKey
  /**
   * Multiaddrs to listen on.
   * @default ['/ip4/127.0.0.1/tcp/0']
   */
  listen?: string[]
  /**
   * Open connections at most (members, tentative peers, and dials in progress).
   * @default 300
   */
  maxConnections?: number
  /**
   * Inbound connections being upgraded (Noise handshake) at once; more are refused.
   * @default 256
   */
  maxIncomingPendingConnections?: number
  /**
   * Inbound connections accepted per second from one host; more are refused.
   * libp2p's default (5) refuses members that share a host or a NAT.
   * @default 256
   */
  inboundConnectionThreshold?: number
  /**
   * Inbound mirnet streams (PROTOCOL_ID) per connection at once (one is normal;
   * a few cover a reconnect overlapping a dying stream).
   * @default 4
   */
  maxInboundStreams?: number
  /**
   * Largest yamux receive window per stream; bounds what a paused stream buffers.
   * @default 4 MiB
   */
  maxStreamWindowBytes?: number
  /**
   * Where libp2p's own logs go (errors at debug, the rest at trace, under `component: 'transport'`).
   * @default libp2p's own logger (the DEBUG environment variable)
   */
  logger?: Logger
}

/**
 * The libp2p transport: TCP + Noise + Yamux, protocol PROTOCOL_ID (`/mirnet/3.0.0`).
 * Noise authenticates the peer id, so a channel's `remoteIdentity` is the
 * remote's peer id and a dial to `/…/p2p/<id>` fails unless the node there
 * holds that key. Noise is the only encrypter: no plaintext connections.
 */
export class Libp2pTransport implements Transport {
  readonly localIdentity: string
  readonly node: Libp2p
  readonly #maxInboundStreams: number
  readonly #maxStreamWindowBytes: number
  readonly #log?: Logger
  #stopping?: Promise<void>

  private constructor (node: Libp2p, init: Libp2pTransportInit) {
    this.#log = init.logger
    this.node = node
    this.localIdentity = node.peerId.toString()
    this.#maxInboundStreams = init.maxInboundStreams ?? 4
    this.#maxStreamWindowBytes = init.maxStreamWindowBytes ?? 4 * MiB
  }

  static async create (init: Libp2pTransportInit): Promise<Libp2pTransport> {
    const maxStreamWindowBytes = init.maxStreamWindowBytes ?? 4 * MiB
    const node = await createLibp2p({
      start: false,
      privateKey: init.privateKey,
      ...(init.logger === undefined ? {} : { logger: libp2pLogger(init.logger) }),
      addresses: { listen: init.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [withQuietFrameDecoder(noise({ crypto: noiseCrypto }))],
      streamMuxers: [yamux({
        streamOptions: { maxStreamWindowSize: maxStreamWindowBytes, maxReadBufferLength: 2 * maxStreamWindowBytes }
      })],
      // liveness is the core's keepalive (receivers ack at least every second,
      // a silent link's connection is aborted): libp2p's monitor would open a
      // ping stream per connection every 10 s on top, idle CPU for nothing
      connectionMonitor: { enabled: false },
      connectionManager: {
        maxConnections: init.maxConnections ?? 300,
        maxIncomingPendingConnections: init.maxIncomingPendingConnections ?? 256,
        inboundConnectionThreshold: init.inboundConnectionThreshold ?? 256
      }
    })
    return new Libp2pTransport(node, init)
  }

  parseAddress (address: string): string {
    let components
    try {
      components = multiaddr(address).getComponents()
    } catch (err) {
      throw new InvalidAddressError(`address "${address}" is not a valid multiaddr: ${(err as Error).message}`)
    }
    const last = components[components.length - 1]
    if (last?.code !== CODE_P2P || last.value === undefined) {
      throw new MissingPeerIdError(`address "${address}" does not end in /p2p/<peer id>`)
    }
    if (components.length < 2) {
      throw new InvalidAddressError(`address "${address}" has a peer id but no network address to dial`)
    }
    try {
      return peerIdFromString(last.value).toString()
    } catch (err) {
      throw new InvalidAddressError(`address "${address}" has an invalid peer id: ${(err as Error).message}`)
    }
  }

  listenAddresses (): string[] {
    return this.node.getMultiaddrs().map(ma => ma.toString())
  }

  async start (onInbound: (channel: Channel) => void): Promise<void> {
    await this.node.handle(PROTOCOL_ID, (stream: Stream, connection: Connection) => {
      this.#configure(stream)
      onInbound(new Libp2pChannel(stream, connection))
    }, { maxInboundStreams: this.#maxInboundStreams })
    // libp2p keeps a peer-store entry for every peer that ever connected; with
    // peers coming from anywhere that grows without bound. Members are dialed
    // by full address, so nothing needs the entry once the peer is gone.
    this.node.addEventListener('peer:disconnect', evt => {
      this.node.peerStore.delete(evt.detail).catch((err: unknown) => {
        this.#log?.debug({ peer: evt.detail.toString(), err: String(err) }, 'forgetting a disconnected peer failed')
      })
    })
    await this.node.start()
  }

  async dial (address: string, options: DialOptions): Promise<Channel> {
    const ma = multiaddr(address)
    const connection = await this.node.dial(ma, { signal: options.signal })
    const stream = await connection.newStream(PROTOCOL_ID, { signal: options.signal })
    this.#configure(stream)
    return new Libp2pChannel(stream, connection)
  }

  #configure (stream: Stream): void {
    // a paused stream buffers at most one receive window; allow that, reset past it
    stream.maxReadBufferLength = 2 * this.#maxStreamWindowBytes
    // long-lived streams: liveness is the connection's business, not idle time
    stream.inactivityTimeout = 0
  }

  async disconnect (identity: string): Promise<void> {
    await this.node.hangUp(peerIdFromString(identity))
  }

  async stop (): Promise<void> {
    this.#stopping ??= Promise.resolve(this.node.stop())
    await this.#stopping
  }
}
