import { createServer, connect as tcpConnect } from 'node:net'
import { TLSSocket, connect as tlsConnect, createSecureContext } from 'node:tls'
import { peerIdOf } from '../libp2p/keys.ts'
import { createIdentityCertificate, identityOfCertificate, PeerCertificateError } from './certificate.ts'
import { formatTlsAddress, parseTlsAddress } from './tls-address.ts'
import { TlsChannel, resetConnection } from './tls-channel.ts'
import type { Channel, DialOptions, Transport } from '../../core/transport.ts'
import type { Logger } from '../../core/logger.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { AddressInfo, Server, Socket } from 'node:net'
import type { SecureContext } from 'node:tls'

/** The node at the dialed address authenticated with another key than the address names. */
export class IdentityMismatchError extends Error {
  override name = 'IdentityMismatchError'
}

/** The TLS handshake did not finish within `handshakeTimeoutMs`. */
export class HandshakeTimeoutError extends Error {
  override name = 'HandshakeTimeoutError'
}

/** The connection failed before the handshake finished (refused, reset, TLS alert). */
export class HandshakeFailedError extends Error {
  override name = 'HandshakeFailedError'
}

/** The transport is stopped or not started. */
export class TransportStoppedError extends Error {
  override name = 'TransportStoppedError'
}

/** ALPN protocol both ends must agree on: refuses anything that is not a mirnet TLS endpoint. */
export const TLS_ALPN_PROTOCOL = 'mirnet/tls/1'

export interface TlsTransportInit {
  /** The node's Ed25519 key (the libp2p key file); its peer id is the identity. */
  privateKey: PrivateKey
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
  readonly #maxPendingHandshakes: number
  readonly #maxInboundConnections: number
  readonly #log?: Logger
  readonly #servers: Server[] = []
  readonly #channels = new Set<TlsChannel>()
  /** Every open TLS socket and the TCP socket under it, so that `stop()` can drop them all. */
  readonly #sockets = new Map<TLSSocket, Socket>()
  #pendingInbound = 0
  #inbound = 0
  #started = false
  #stopped = false

  private constructor (init: TlsTransportInit, context: SecureContext) {
    this.localIdentity = peerIdOf(init.privateKey)
    this.#listen = init.listen ?? ['/ip4/127.0.0.1/tcp/0/tls']
    this.#context = context
    this.#handshakeTimeoutMs = init.handshakeTimeoutMs ?? 5000
    this.#maxPendingHandshakes = init.maxPendingHandshakes ?? 256
    this.#maxInboundConnections = init.maxInboundConnections ?? 300
    this.#log = init.logger
  }

  static async create (init: TlsTransportInit): Promise<TlsTransport> {
    const { keyPem, certPem } = await createIdentityCertificate(init.privateKey)
    const context = createSecureContext({ key: keyPem, cert: certPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })
    for (const address of init.listen ?? []) parseTlsAddress(address, false)
    return new TlsTransport(init, context)
  }

  parseAddress (address: string): string {
    return parseTlsAddress(address, true).identity as string
  }

  listenAddresses (): string[] {
    return this.#servers.map(server => {
      const bound = server.address() as AddressInfo
      return formatTlsAddress(bound.address, bound.port, this.localIdentity)
    })
  }

  async start (onInbound: (channel: Channel) => void): Promise<void> {
    if (this.#stopped) throw new TransportStoppedError('the TLS transport is stopped')
    if (this.#started) return
    this.#started = true
    for (const address of this.#listen) {
      const { host, port } = parseTlsAddress(address, false)
      const server = createServer({ allowHalfOpen: true, noDelay: true }, tcp => { this.#accept(tcp, onInbound) })
      this.#servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => { server.off('error', reject); resolve() })
      })
      server.on('error', err => { this.#log?.warn({ address, err: err.message }, 'TLS listener error') })
    }
  }

  #accept (tcp: Socket, onInbound: (channel: Channel) => void): void {
    const remote = `${tcp.remoteAddress ?? '?'}:${tcp.remotePort ?? '?'}`
    tcp.on('error', this.#onTcpError)
    if (this.#stopped || this.#pendingInbound >= this.#maxPendingHandshakes || this.#inbound >= this.#maxInboundConnections) {
      this.#log?.debug({ remote, pending: this.#pendingInbound, inbound: this.#inbound }, 'refusing an inbound connection: at the limit')
      tcp.resetAndDestroy()
      return
    }
    this.#pendingInbound++
    this.#inbound++
    const socket = new TLSSocket(tcp, {
      isServer: true,
      secureContext: this.#context,
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: [TLS_ALPN_PROTOCOL]
    })
    this.#own(socket, tcp)
    let handshaking = true
    const done = (): void => {
      if (!handshaking) return
      handshaking = false
      this.#pendingInbound--
      clearTimeout(timer)
    }
    const refuse = (err: Error): void => {
      done()
      this.#log?.debug({ remote, err: err.message }, 'refusing an inbound TLS connection')
      resetConnection(socket, tcp)
    }
    const timer = setTimeout(() => { refuse(new HandshakeTimeoutError(`no TLS handshake from ${remote} within ${this.#handshakeTimeoutMs} ms`)) }, this.#handshakeTimeoutMs)
    socket.once('close', () => { done(); this.#inbound-- })
    socket.on('error', (err: Error) => { if (handshaking) refuse(err) })
    socket.once('secure', () => {
      let identity
      try {
        identity = verifiedPeer(socket)
      } catch (err) {
        refuse(err as Error)
        return
      }
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
    const identity = await new Promise<string>((resolve, reject) => {
      const fail = (err: Error): void => { cleanup(); resetConnection(socket, tcp); reject(err) }
      const onAbort = (): void => { fail(options.signal.reason as Error) }
      const onError = (err: Error): void => { fail(new HandshakeFailedError(`TLS connection to ${address} failed: ${err.message}`)) }
      const onClose = (): void => { fail(new HandshakeFailedError(`TLS connection to ${address} closed during the handshake`)) }
      const timer = setTimeout(() => { fail(new HandshakeTimeoutError(`no TLS handshake with ${address} within ${this.#handshakeTimeoutMs} ms`)) }, this.#handshakeTimeoutMs)
      const cleanup = (): void => {
        clearTimeout(timer)
        options.signal.removeEventListener('abort', onAbort)
        socket.off('error', onError)
        socket.off('close', onClose)
      }
      options.signal.addEventListener('abort', onAbort, { once: true })
      socket.on('error', onError)
      socket.once('close', onClose)
      socket.once('secureConnect', () => {
        let actual
        try {
          actual = verifiedPeer(socket)
        } catch (err) {
          fail(err as Error)
          return
        }
        if (actual !== expected) {
          fail(new IdentityMismatchError(`node at ${host}:${port} is ${actual}, not ${String(expected)}`))
          return
        }
        cleanup()
        resolve(actual)
      })
    })
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
    const closing = this.#servers.map(async server => { await new Promise<void>(resolve => { server.close(() => { resolve() }) }) })
    for (const c of [...this.#channels]) c.abort(new TransportStoppedError('the TLS transport stopped'))
    // handshakes, and any connection a channel no longer holds: the listener waits for all of them
    for (const [socket, tcp] of this.#sockets) resetConnection(socket, tcp)
    await Promise.all(closing)
  }
}

/**
 * The identity of the peer at the other end of a finished handshake: TLS 1.3,
 * the ALPN protocol `alpn` (ours unless the gRPC transport asks for `h2`), a
 * full handshake (no resumption, which would skip the certificate) and a
 * valid self-signed Ed25519 certificate.
 */
export function verifiedPeer (socket: TLSSocket, alpn = TLS_ALPN_PROTOCOL): string {
  const version = socket.getProtocol()
  if (version !== 'TLSv1.3') throw new PeerCertificateError(`the peer negotiated ${String(version)}, not TLSv1.3`)
  if (socket.alpnProtocol !== alpn) throw new PeerCertificateError(`the peer did not negotiate ALPN ${alpn}`)
  if (socket.isSessionReused()) throw new PeerCertificateError('the peer resumed a session; a full handshake is required')
  return identityOfCertificate(socket.getPeerX509Certificate())
}
