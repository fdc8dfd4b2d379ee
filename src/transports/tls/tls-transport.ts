import { connect as tcpConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { peerIdOf } from '../libp2p/keys.ts'
import { createIdentityContext } from './certificate.ts'
import { formatTlsAddress, parseTlsAddress } from './tls-address.ts'
import { TlsChannel, resetConnection } from './tls-channel.ts'
import { tlsDial } from './tls-dial.ts'
import { TLS_ALPN_PROTOCOL } from './tls-handshake.ts'
import { TLS_LIMIT_DEFAULTS, TlsListener } from './tls-listener.ts'
import type { Channel, DialOptions, Transport } from '../../core/transport.ts'
import type { Logger } from '../../core/logger.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Socket } from 'node:net'
import type { SecureContext, TLSSocket } from 'node:tls'

export { HandshakeFailedError, HandshakeTimeoutError, IdentityMismatchError, TLS_ALPN_PROTOCOL, verifiedPeer } from './tls-handshake.ts'

/** The transport is stopped or not started. */
export class TransportStoppedError extends Error {
  override name = 'TransportStoppedError'
}

/** What the TLS transport and the gRPC transport on top of TLS take alike. */
export interface TlsEndpointInit {
  /** The node's Ed25519 key (the libp2p key file); its peer id is the identity. */
  privateKey: PrivateKey
  /**
   * Inbound connections in their handshake at once; more are reset at once.
   * @default 256
   */
  maxPendingHandshakes?: number
  /**
   * Open inbound connections at most (authenticated, members or not); more are reset.
   * @default 300
   */
  maxInboundConnections?: number
  /** Where the transport logs refused peers (at debug). @default none */
  logger?: Logger
}

export interface TlsTransportInit extends TlsEndpointInit {
  /**
   * Addresses to listen on, `/ip4|ip6/<address>/tcp/<port>[/tls]`; port 0 picks a free port.
   * @default ['/ip4/127.0.0.1/tcp/0/tls']
   */
  listen?: string[]
  /**
   * How long a TLS handshake may take, inbound or outbound; a peer that
   * connects and does not finish it is dropped then.
   * @default 5000
   */
  handshakeTimeoutMs?: number
}

/**
 * The TLS transport: TCP + TLS 1.3 with mutual authentication by the node's
 * own Ed25519 key, one TLS connection per channel, mirnet's framing directly
 * on the TLS stream (no multiplexer).
 *
 * Each end presents a self-signed certificate of its key (see
 * certificate.ts). The dialer accepts the connection only when the server's
 * certificate key is the peer id its address names (`IdentityMismatchError`
 * otherwise); the acceptor accepts any valid self-signed Ed25519 certificate
 * and reports its peer id as `remoteIdentity`, so that the core decides member
 * or tentative, as over libp2p. Certificates are checked by hand
 * (`rejectUnauthorized: false`: there is no CA) after OpenSSL verified the
 * handshake itself, including the CertificateVerify signature that proves the
 * peer holds the certificate's key. Session resumption is refused.
 */
export class TlsTransport implements Transport {
  readonly localIdentity: string
  readonly #listen: string[]
  readonly #context: SecureContext
  readonly #handshakeTimeoutMs: number
  readonly #log?: Logger
  readonly #listener: TlsListener
  readonly #channels = new Set<TlsChannel>()
  /** Every open TLS socket and the TCP socket under it, so that `stop()` can drop them all. */
  readonly #sockets = new Map<TLSSocket, Socket>()
  #started = false
  #stopped = false

  private constructor (init: TlsTransportInit, context: SecureContext) {
    this.localIdentity = peerIdOf(init.privateKey)
    this.#listen = init.listen ?? ['/ip4/127.0.0.1/tcp/0/tls']
    this.#context = context
    this.#handshakeTimeoutMs = init.handshakeTimeoutMs ?? TLS_LIMIT_DEFAULTS.handshakeTimeoutMs
    this.#log = init.logger
    this.#listener = new TlsListener({
      secureContext: context,
      alpn: TLS_ALPN_PROTOCOL,
      handshakeTimeoutMs: this.#handshakeTimeoutMs,
      maxPendingHandshakes: init.maxPendingHandshakes ?? TLS_LIMIT_DEFAULTS.maxPendingHandshakes,
      maxInboundConnections: init.maxInboundConnections ?? TLS_LIMIT_DEFAULTS.maxInboundConnections,
      allowHalfOpen: true,
      label: 'TLS',
      handshakeName: 'TLS handshake',
      logger: init.logger
    }, {
      own: (socket, tcp) => { this.#own(socket, tcp) },
      drop: (socket, tcp) => { resetConnection(socket, tcp) },
      onSocketError: this.#onTcpError
    })
  }

  static async create (init: TlsTransportInit): Promise<TlsTransport> {
    const context = await createIdentityContext(init.privateKey)
    for (const address of init.listen ?? []) parseTlsAddress(address, false)
    return new TlsTransport(init, context)
  }

  parseAddress (address: string): string {
    return parseTlsAddress(address, true).identity as string
  }

  listenAddresses (): string[] {
    return this.#listener.addresses().map(bound => formatTlsAddress(bound.address, bound.port, this.localIdentity))
  }

  async start (onInbound: (channel: Channel) => void): Promise<void> {
    if (this.#stopped) throw new TransportStoppedError('the TLS transport is stopped')
    if (this.#started) return
    this.#started = true
    const addresses = this.#listen.map(address => ({ address, ...parseTlsAddress(address, false) }))
    // a peer that finished TLS with a valid certificate: its handshake is over, its connection a channel
    await this.#listener.listen(addresses, ({ socket, tcp, identity, done }) => {
      done()
      onInbound(this.#track(new TlsChannel(socket, tcp, identity, c => this.#channels.delete(c))))
    })
  }

  async dial (address: string, options: DialOptions): Promise<Channel> {
    options.signal.throwIfAborted()
    if (this.#stopped) throw new TransportStoppedError('the TLS transport is stopped')
    const { host, port, identity: expected } = parseTlsAddress(address, true)
    const tcp = tcpConnect({ host, port, allowHalfOpen: true, noDelay: true })
    tcp.on('error', this.#onTcpError)
    const socket = tlsConnect({
      socket: tcp,
      secureContext: this.#context,
      minVersion: 'TLSv1.3',
      ALPNProtocols: [TLS_ALPN_PROTOCOL],
      rejectUnauthorized: false
    })
    // errors after the dial gave up (a reset of a dropped socket) must not go unhandled
    socket.on('error', this.#onTcpError)
    this.#own(socket, tcp)
    const identity = await tlsDial<string>({
      socket,
      address,
      host,
      port,
      expected,
      alpn: TLS_ALPN_PROTOCOL,
      handshakeTimeoutMs: this.#handshakeTimeoutMs,
      signal: options.signal,
      label: 'TLS',
      handshakeName: 'TLS handshake',
      drop: () => { resetConnection(socket, tcp) }
    }, dial => { dial.succeed(dial.identity) })
    if (this.#stopped) {
      resetConnection(socket, tcp)
      throw new TransportStoppedError('the TLS transport stopped during the dial')
    }
    return this.#track(new TlsChannel(socket, tcp, identity, c => this.#channels.delete(c)))
  }

  /**
   * For the TCP socket under a TLS socket, which reports the failure itself,
   * and a dialed TLS socket after its dial settled: keeps node from throwing
   * an unhandled 'error'.
   */
  readonly #onTcpError = (err: Error): void => {
    this.#log?.debug({ err: err.message }, 'TCP socket error')
  }

  #own (socket: TLSSocket, tcp: Socket): void {
    this.#sockets.set(socket, tcp)
    socket.once('close', () => { this.#sockets.delete(socket) })
  }

  #track (channel: TlsChannel): TlsChannel {
    if (!channel.closed) this.#channels.add(channel)
    return channel
  }

  async disconnect (identity: string): Promise<void> {
    for (const c of [...this.#channels]) {
      if (c.remoteIdentity === identity) c.abortConnection(new TransportStoppedError(`disconnected from ${identity}`))
    }
  }

  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    const closing = this.#listener.close()
    for (const c of [...this.#channels]) c.abort(new TransportStoppedError('the TLS transport stopped'))
    // handshakes, and any connection a channel no longer holds: the listener waits for all of them
    for (const [socket, tcp] of this.#sockets) resetConnection(socket, tcp)
    await closing
  }
}
