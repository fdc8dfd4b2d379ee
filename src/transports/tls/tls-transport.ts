import { peerIdOf } from '../libp2p/keys.ts'
import { createIdentityContext } from './certificate.ts'
import { formatTlsAddress, parseTlsAddress } from './tls-address.ts'
import { TlsChannel, resetConnection } from './tls-channel.ts'
import { TlsEndpoint, TransportStoppedError } from './tls-endpoint.ts'
import { TLS_ALPN_PROTOCOL } from './tls-handshake.ts'
import type { TlsEndpointInit, TlsEndpointProfile } from './tls-endpoint.ts'
import type { Channel, DialOptions, Transport } from '../../core/transport.ts'
import type { Logger } from '../../core/logger.ts'
import type { Socket } from 'node:net'
import type { SecureContext, TLSSocket } from 'node:tls'

export { HandshakeFailedError, HandshakeTimeoutError, IdentityMismatchError, TLS_ALPN_PROTOCOL, verifiedPeer } from './tls-handshake.ts'

const TLS_PROFILE: TlsEndpointProfile = { alpn: TLS_ALPN_PROTOCOL, allowHalfOpen: true, label: 'TLS', handshakeName: 'TLS handshake' }

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
  readonly #log?: Logger
  readonly #endpoint: TlsEndpoint<TlsChannel>

  private constructor (init: TlsTransportInit, context: SecureContext) {
    this.localIdentity = peerIdOf(init.privateKey)
    this.#listen = init.listen ?? ['/ip4/127.0.0.1/tcp/0/tls']
    this.#log = init.logger
    this.#endpoint = new TlsEndpoint(init, context, TLS_PROFILE, {
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
    return this.#endpoint.addresses().map(bound => formatTlsAddress(bound.address, bound.port, this.localIdentity))
  }

  async start (onInbound: (channel: Channel) => void): Promise<void> {
    const addresses = this.#listen.map(address => ({ address, ...parseTlsAddress(address, false) }))
    // a peer that finished TLS with a valid certificate: its handshake is over, its connection a channel
    await this.#endpoint.start(addresses, ({ socket, tcp, identity, done }) => {
      done()
      onInbound(this.#endpoint.track(new TlsChannel(socket, tcp, identity, this.#endpoint.forget)))
    })
  }

  async dial (address: string, options: DialOptions): Promise<Channel> {
    this.#endpoint.assertDialable(options.signal)
    const target = parseTlsAddress(address, true)
    const { socket, tcp, identity } = await this.#endpoint.dial<{ socket: TLSSocket, tcp: Socket, identity: string }>(address, target, options, (dial, socket, tcp) => {
      dial.succeed({ socket, tcp, identity: dial.identity })
    })
    if (this.#endpoint.stopped) {
      resetConnection(socket, tcp)
      throw new TransportStoppedError('the TLS transport stopped during the dial')
    }
    return this.#endpoint.track(new TlsChannel(socket, tcp, identity, this.#endpoint.forget))
  }

  /**
   * For the TCP socket under a TLS socket, which reports the failure itself,
   * and a dialed TLS socket after its dial settled: keeps node from throwing
   * an unhandled 'error'.
   */
  readonly #onTcpError = (err: Error): void => {
    this.#log?.debug({ err: err.message }, 'TCP socket error')
  }

  async disconnect (identity: string): Promise<void> {
    this.#endpoint.disconnect(identity)
  }

  async stop (): Promise<void> {
    await this.#endpoint.stop()
  }
}
