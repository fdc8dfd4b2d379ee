import { connect as tcpConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { tlsDial } from './tls-dial.ts'
import { TLS_LIMIT_DEFAULTS, TlsListener } from './tls-listener.ts'
import type { TlsAddress } from './tls-address.ts'
import type { PendingDial } from './tls-dial.ts'
import type { OnAuthenticated } from './tls-listener.ts'
import type { Channel } from '../../core/transport.ts'
import type { Logger } from '../../core/logger.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { AddressInfo, Socket } from 'node:net'
import type { SecureContext, TLSSocket } from 'node:tls'

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

/** How one TLS-based transport uses TLS: fixed per transport. */
export interface TlsEndpointProfile {
  /** The one ALPN protocol offered and required. */
  alpn: string
  /** Let TCP connections stay half open (the TLS transport's channels end each direction on their own). */
  allowHalfOpen: boolean
  /** Names the transport in logs and errors: `TLS`, `gRPC`. */
  label: string
  /** What must be over within the handshake timeout, for its error: `TLS handshake`. */
  handshakeName: string
}

export interface TlsEndpointHandlers {
  /** Drop a connection at once (refused, failed dial, stop). */
  drop: (socket: TLSSocket, tcp: Socket, err: Error) => void
  /** For socket errors that another listener reports: keeps node from throwing an unhandled 'error'. */
  onSocketError: (err: Error) => void
  /** A TLS socket the endpoint owned closed. @default none */
  onSocketClosed?: (socket: TLSSocket) => void
}

/**
 * What a TLS-based transport owns and how it starts and stops: its
 * TlsListener, every open TLS socket with the TCP socket under it (so that
 * `stop()` can drop them all, handshakes included), and its open channels.
 * It listens once, dials with the transport's profile, and stops once:
 * listener closed, channels aborted, remaining connections dropped.
 */
export class TlsEndpoint<C extends Channel & { readonly closed: boolean }> {
  readonly #context: SecureContext
  readonly #handshakeTimeoutMs: number
  readonly #profile: TlsEndpointProfile
  readonly #handlers: TlsEndpointHandlers
  readonly #listener: TlsListener
  readonly #channels = new Set<C>()
  readonly #sockets = new Map<TLSSocket, Socket>()
  #started = false
  #stopped = false

  constructor (init: TlsEndpointInit & { handshakeTimeoutMs?: number }, context: SecureContext, profile: TlsEndpointProfile, handlers: TlsEndpointHandlers) {
    this.#context = context
    this.#handshakeTimeoutMs = init.handshakeTimeoutMs ?? TLS_LIMIT_DEFAULTS.handshakeTimeoutMs
    this.#profile = profile
    this.#handlers = handlers
    this.#listener = new TlsListener({
      ...profile,
      secureContext: context,
      handshakeTimeoutMs: this.#handshakeTimeoutMs,
      maxPendingHandshakes: init.maxPendingHandshakes ?? TLS_LIMIT_DEFAULTS.maxPendingHandshakes,
      maxInboundConnections: init.maxInboundConnections ?? TLS_LIMIT_DEFAULTS.maxInboundConnections,
      logger: init.logger
    }, {
      own: (socket, tcp) => { this.#own(socket, tcp) },
      drop: handlers.drop,
      onSocketError: handlers.onSocketError
    })
  }

  get stopped (): boolean { return this.#stopped }

  /** The bound address of each listener. */
  addresses (): AddressInfo[] {
    return this.#listener.addresses()
  }

  /** Listen on the addresses, once; throws `TransportStoppedError` once stopped. */
  async start (addresses: ReadonlyArray<{ address: string, host: string, port: number }>, onAuthenticated: OnAuthenticated): Promise<void> {
    if (this.#stopped) throw new TransportStoppedError(`the ${this.#profile.label} transport is stopped`)
    if (this.#started) return
    this.#started = true
    await this.#listener.listen(addresses, onAuthenticated)
  }

  /** Throws the signal's reason once aborted, `TransportStoppedError` once stopped. */
  assertDialable (signal: AbortSignal): void {
    signal.throwIfAborted()
    if (this.#stopped) throw new TransportStoppedError(`the ${this.#profile.label} transport is stopped`)
  }

  /**
   * Connect to `host:port` and run the outbound handshake (tlsDial), the
   * connection owned from the start; `onAuthenticated` finishes it on the
   * authenticated socket. `servername`: SNI, if any.
   */
  async dial<T> (address: string, target: TlsAddress, options: { signal: AbortSignal, servername?: string }, onAuthenticated: (dial: PendingDial<T>, socket: TLSSocket, tcp: Socket) => void): Promise<T> {
    const { host, port, identity: expected } = target
    const { alpn, allowHalfOpen, label, handshakeName } = this.#profile
    const tcp = tcpConnect({ host, port, allowHalfOpen, noDelay: true })
    tcp.on('error', this.#handlers.onSocketError)
    const socket = tlsConnect({
      socket: tcp,
      secureContext: this.#context,
      minVersion: 'TLSv1.3',
      ALPNProtocols: [alpn],
      rejectUnauthorized: false,
      servername: options.servername
    })
    // errors after the dial gave up (a reset of a dropped socket) must not go unhandled
    socket.on('error', this.#handlers.onSocketError)
    this.#own(socket, tcp)
    return await tlsDial<T>({
      socket,
      address,
      host,
      port,
      expected,
      alpn,
      handshakeTimeoutMs: this.#handshakeTimeoutMs,
      signal: options.signal,
      label,
      handshakeName,
      drop: err => { this.#handlers.drop(socket, tcp, err) }
    }, dial => { onAuthenticated(dial, socket, tcp) })
  }

  #own (socket: TLSSocket, tcp: Socket): void {
    this.#sockets.set(socket, tcp)
    socket.once('close', () => {
      this.#sockets.delete(socket)
      this.#handlers.onSocketClosed?.(socket)
    })
  }

  /** Keep an open channel until it closes (`forget`), for `disconnect()` and `stop()`. */
  track (channel: C): C {
    if (!channel.closed) this.#channels.add(channel)
    return channel
  }

  /** A channel's close callback. */
  readonly forget = (channel: C): void => { this.#channels.delete(channel) }

  /** Drop every connection of the channels to `identity`. */
  disconnect (identity: string): void {
    for (const c of [...this.#channels]) {
      if (c.remoteIdentity === identity) c.abortConnection(new TransportStoppedError(`disconnected from ${identity}`))
    }
  }

  /** Stop listening, abort every channel, drop every other connection, and wait for the listener to close. Idempotent. */
  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    const closing = this.#listener.close()
    const stopped = `the ${this.#profile.label} transport stopped`
    for (const c of [...this.#channels]) c.abort(new TransportStoppedError(stopped))
    // handshakes, and any connection a channel no longer holds: the listener waits for all of them
    const err = new TransportStoppedError(stopped)
    for (const [socket, tcp] of this.#sockets) this.#handlers.drop(socket, tcp, err)
    await closing
  }
}
