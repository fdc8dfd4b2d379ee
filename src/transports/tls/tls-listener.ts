import { createServer } from 'node:net'
import { TLSSocket } from 'node:tls'
import { HandshakeTimeoutError, verifiedPeer } from './tls-handshake.ts'
import type { Logger } from '../../core/logger.ts'
import type { AddressInfo, Server, Socket } from 'node:net'
import type { SecureContext } from 'node:tls'

/** The defaults of the limits both TLS-based transports take (TlsEndpointInit). */
export const TLS_LIMIT_DEFAULTS = { handshakeTimeoutMs: 5000, maxPendingHandshakes: 256, maxInboundConnections: 300 } as const

export interface TlsListenerInit {
  /** The node's certificate and key. */
  secureContext: SecureContext
  /** The one ALPN protocol offered. */
  alpn: string
  /** How long an inbound connection may take to finish its handshake (`done()`). */
  handshakeTimeoutMs: number
  /** Inbound connections in their handshake at once; more are reset at once. */
  maxPendingHandshakes: number
  /** Open inbound connections at most; more are reset at once. */
  maxInboundConnections: number
  /** Let the TCP connection stay half open (the TLS transport's channels end each direction on its own). */
  allowHalfOpen: boolean
  /** Names the transport in logs: `TLS`, `gRPC`. */
  label: string
  /** What must be over within the timeout, for its error: `TLS handshake`. */
  handshakeName: string
  logger?: Logger
}

/** An inbound connection whose peer authenticated, its handshake not yet over. */
export interface InboundHandshake {
  readonly socket: TLSSocket
  readonly tcp: Socket
  /** `host:port` of the peer, for logs. */
  readonly remote: string
  /** The peer id of the certificate the peer presented (verifiedPeer). */
  readonly identity: string
  /** The handshake is over: it no longer counts as pending and its timeout is off. Idempotent. */
  done: () => void
  /** Refuse the connection: `done()`, logged at debug, dropped. */
  refuse: (err: Error) => void
}

export interface TlsListenerHandlers {
  /** A new inbound TLS socket and the TCP socket under it, for the transport to track. */
  own: (socket: TLSSocket, tcp: Socket) => void
  /** Drop a refused connection at once. */
  drop: (socket: TLSSocket, tcp: Socket, err: Error) => void
  /** For the errors of the TCP sockets, which their TLS sockets report too. */
  onSocketError: (err: Error) => void
}

/** The peer finished TLS and its certificate is valid; the transport finishes its own handshake on it, then calls `done()`. */
export type OnAuthenticated = (handshake: InboundHandshake) => void

/**
 * The inbound side of a TLS endpoint: TCP listeners on the given addresses,
 * whose connections are accepted within the limits (`maxPendingHandshakes`
 * in their handshake, `maxInboundConnections` open; past them a connection
 * is reset at once), and whose handshake must be over within
 * `handshakeTimeoutMs`, else the connection is refused. A peer that
 * finishes TLS with a valid self-signed certificate goes to the
 * `onAuthenticated` given to `listen()`; a failed handshake or certificate
 * is refused.
 */
export class TlsListener {
  readonly #init: TlsListenerInit
  readonly #handlers: TlsListenerHandlers
  readonly #servers: Server[] = []
  #pendingInbound = 0
  #inbound = 0
  #closed = false

  constructor (init: TlsListenerInit, handlers: TlsListenerHandlers) {
    this.#init = init
    this.#handlers = handlers
  }

  /** The bound address of each listener, in the order they were listened on. */
  addresses (): AddressInfo[] {
    return this.#servers.map(server => server.address() as AddressInfo)
  }

  /** Listen on each address in turn (`address` is for the logs); authenticated peers go to `onAuthenticated`. */
  async listen (addresses: ReadonlyArray<{ address: string, host: string, port: number }>, onAuthenticated: OnAuthenticated): Promise<void> {
    for (const { address, host, port } of addresses) {
      const server = createServer({ allowHalfOpen: this.#init.allowHalfOpen, noDelay: true }, tcp => { this.#accept(tcp, onAuthenticated) })
      this.#servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => { server.off('error', reject); resolve() })
      })
      server.on('error', err => { this.#init.logger?.warn({ address, err: err.message }, `${this.#init.label} listener error`) })
    }
  }

  /**
   * Stop listening and refuse connections from now on (synchronously);
   * resolves once every accepted connection has closed (the transport drops
   * them). Idempotent.
   */
  async close (): Promise<void> {
    this.#closed = true
    await Promise.all(this.#servers.map(async server => { await new Promise<void>(resolve => { server.close(() => { resolve() }) }) }))
  }

  #accept (tcp: Socket, onAuthenticated: OnAuthenticated): void {
    const init = this.#init
    const log = init.logger
    const remote = `${tcp.remoteAddress ?? '?'}:${tcp.remotePort ?? '?'}`
    tcp.on('error', this.#handlers.onSocketError)
    if (this.#closed || this.#pendingInbound >= init.maxPendingHandshakes || this.#inbound >= init.maxInboundConnections) {
      log?.debug({ remote, pending: this.#pendingInbound, inbound: this.#inbound }, 'refusing an inbound connection: at the limit')
      tcp.resetAndDestroy()
      return
    }
    this.#pendingInbound++
    this.#inbound++
    const socket = new TLSSocket(tcp, {
      isServer: true,
      secureContext: init.secureContext,
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: [init.alpn]
    })
    this.#handlers.own(socket, tcp)
    let handshaking = true
    const done = (): void => {
      if (!handshaking) return
      handshaking = false
      this.#pendingInbound--
      clearTimeout(timer)
    }
    const refuse = (err: Error): void => {
      done()
      log?.debug({ remote, err: err.message }, `refusing an inbound ${init.label} connection`)
      this.#handlers.drop(socket, tcp, err)
    }
    const timer = setTimeout(() => {
      refuse(new HandshakeTimeoutError(`no ${init.handshakeName} from ${remote} within ${init.handshakeTimeoutMs} ms`))
    }, init.handshakeTimeoutMs)
    socket.once('close', () => { done(); this.#inbound-- })
    socket.on('error', (err: Error) => { if (handshaking) refuse(err) })
    socket.once('secure', () => {
      let identity: string
      try {
        identity = verifiedPeer(socket, init.alpn)
      } catch (err) {
        refuse(err as Error)
        return
      }
      onAuthenticated({ socket, tcp, remote, identity, done, refuse })
    })
  }
}
