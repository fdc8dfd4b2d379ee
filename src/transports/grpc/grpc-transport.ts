import { connect as http2Connect, constants as http2Constants, createServer as createHttp2Server } from 'node:http2'
import { isIP } from 'node:net'
import { peerIdOf } from '../libp2p/keys.ts'
import { createIdentityContext } from '../tls/certificate.ts'
import { resetConnection } from '../tls/tls-channel.ts'
import { TlsEndpoint, TransportStoppedError } from '../tls/tls-endpoint.ts'
import { HandshakeFailedError } from '../tls/tls-handshake.ts'
import { RESPONSE_HEADERS, refusalHeaders, requestHeaders, requestRefusal, responseRefusal } from './grpc-call.ts'
import { GrpcChannel, dropSession } from './grpc-channel.ts'
import { formatGrpcAddress, parseGrpcAddress } from './grpc-address.ts'
import type { InboundHandshake } from '../tls/tls-listener.ts'
import type { TlsEndpointInit, TlsEndpointProfile } from '../tls/tls-endpoint.ts'
import type { Channel, DialOptions, Transport } from '../../core/transport.ts'
import type { Logger } from '../../core/logger.ts'
import type { Http2Server, Http2Session, IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream, Settings } from 'node:http2'
import type { Socket } from 'node:net'
import type { SecureContext, TLSSocket } from 'node:tls'

/** The acceptor answered the link call with a gRPC error, or not as a gRPC server. */
export class GrpcCallRefusedError extends Error {
  override name = 'GrpcCallRefusedError'
}

/** ALPN protocol of HTTP/2 over TLS, which gRPC requires. */
export const GRPC_ALPN_PROTOCOL = 'h2'

const GRPC_PROFILE: TlsEndpointProfile = { alpn: GRPC_ALPN_PROTOCOL, allowHalfOpen: false, label: 'gRPC', handshakeName: 'TLS handshake and link call' }

export interface GrpcTransportInit extends TlsEndpointInit {
  /**
   * Addresses to listen on, `/ip4|ip6/<address>/tcp/<port>/tls/http`; port 0 picks a free port.
   * @default ['/ip4/127.0.0.1/tcp/0/tls/http']
   */
  listen?: string[]
  /**
   * How long the handshake may take, inbound or outbound: TLS, the
   * certificate check, HTTP/2's connection preface and the link call's
   * headers. A peer that connects and has not opened the call by then is
   * dropped.
   * @default 5000
   */
  handshakeTimeoutMs?: number
  /**
   * HTTP/2 flow-control window of each call and connection, in bytes: what a
   * peer may send before this end reads it (a paused channel holds at most
   * this much).
   * @default 2097152 (2 MiB)
   */
  windowBytes?: number
  /**
   * Largest data in one gRPC message, sent or accepted; longer `send()`s are
   * split. gRPC's usual receive limit.
   * @default 4194304 (4 MiB)
   */
  maxMessageBytes?: number
}

/**
 * Largest HTTP/2 frame each end accepts (HTTP/2's default is 16 KiB): one of
 * the core's batches (256 KiB, DEFAULT_COALESCE_BYTES) goes in one DATA
 * frame, so the receiver gets it in fewer chunks. One call per connection:
 * a long frame holds up no other call.
 */
const MAX_HTTP2_FRAME_BYTES = 256 * 1024 + 64
/** Request headers a peer may send (the link call needs a few hundred bytes). */
const MAX_HEADER_LIST_BYTES = 16 * 1024

/**
 * The gRPC transport: each channel is one bidirectional gRPC call
 * (`mirnet.link.v1.LinkService/Stream`, grpc-message.ts) on its own HTTP/2
 * connection over TLS 1.3, with mutual authentication by the node's own
 * Ed25519 key as on the TLS transport (certificate.ts) and ALPN `h2`. The
 * wire is gRPC's: `content-type: application/grpc+proto`, length-prefixed
 * protobuf messages, `grpc-status` trailers, so that what passes gRPC
 * (HTTP/2-only proxies, service meshes) passes this.
 *
 * The dialer checks that the server's certificate key is the peer id its
 * address names (`IdentityMismatchError`), before HTTP/2 starts; the acceptor
 * accepts any valid certificate and reports its peer id as
 * `remoteIdentity`, for the core to decide member or tentative. Built on
 * node:http2 directly: the TLS handshake is the transport's own (handshake
 * timeout and limits as on the TLS transport), and HTTP/2 runs on the
 * authenticated socket.
 */
export class GrpcTransport implements Transport {
  readonly localIdentity: string
  readonly #listen: string[]
  readonly #windowBytes: number
  readonly #maxMessageBytes: number
  readonly #settings: Settings
  readonly #log?: Logger
  readonly #endpoint: TlsEndpoint<GrpcChannel>
  /** Takes authenticated sockets and makes HTTP/2 sessions of them; never listens itself. */
  readonly #http2: Http2Server
  /** The HTTP/2 connection on each TLS socket that has one: dropped through it, never by a TCP reset under it. */
  readonly #sessions = new Map<TLSSocket, Http2Session>()

  private constructor (init: GrpcTransportInit, context: SecureContext) {
    this.localIdentity = peerIdOf(init.privateKey)
    this.#listen = init.listen ?? ['/ip4/127.0.0.1/tcp/0/tls/http']
    this.#windowBytes = init.windowBytes ?? 2 * 1024 * 1024
    this.#maxMessageBytes = init.maxMessageBytes ?? 4 * 1024 * 1024
    this.#settings = {
      initialWindowSize: this.#windowBytes,
      maxFrameSize: MAX_HTTP2_FRAME_BYTES,
      maxHeaderListSize: MAX_HEADER_LIST_BYTES,
      enablePush: false
    }
    this.#log = init.logger
    // no 'request' listener: node's compatibility API (request/response objects) stays out of the streams
    this.#http2 = createHttp2Server({ settings: { ...this.#settings, maxConcurrentStreams: 1 } })
    this.#endpoint = new TlsEndpoint(init, context, GRPC_PROFILE, {
      drop: (socket, tcp, err) => { this.#drop(socket, tcp, err) },
      onSocketError: this.#onSocketError,
      onSocketClosed: socket => { this.#sessions.delete(socket) }
    })
  }

  static async create (init: GrpcTransportInit): Promise<GrpcTransport> {
    const context = await createIdentityContext(init.privateKey)
    for (const address of init.listen ?? []) parseGrpcAddress(address, false)
    return new GrpcTransport(init, context)
  }

  parseAddress (address: string): string {
    return parseGrpcAddress(address, true).identity as string
  }

  listenAddresses (): string[] {
    return this.#endpoint.addresses().map(bound => formatGrpcAddress(bound.address, bound.port, this.localIdentity))
  }

  async start (onInbound: (channel: Channel) => void): Promise<void> {
    const addresses = this.#listen.map(address => ({ address, ...parseGrpcAddress(address, false) }))
    await this.#endpoint.start(addresses, handshake => { this.#accept(handshake, onInbound) })
  }

  /** An inbound peer finished TLS with a valid certificate: HTTP/2 on its socket, and its handshake is over once it opened the link call. */
  #accept ({ socket, remote, identity, done, refuse }: InboundHandshake, onInbound: (channel: Channel) => void): void {
    if (this.#endpoint.stopped) {
      refuse(new TransportStoppedError('the gRPC transport is stopped'))
      return
    }
    const session = this.#serverSession(socket)
    session.on('error', this.#onSocketError)
    let called = false
    session.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      if (called) {
        // one call per connection
        stream.on('error', this.#onSocketError)
        stream.close(http2Constants.NGHTTP2_REFUSED_STREAM)
        return
      }
      called = true
      const refusal = requestRefusal(headers)
      if (refusal !== undefined) {
        done()
        this.#log?.debug({ remote, identity, status: refusal.status, err: refusal.message }, 'refusing a call')
        stream.on('error', this.#onSocketError)
        stream.respond(refusalHeaders(refusal), { endStream: true })
        session.close()
        return
      }
      done()
      stream.respond(RESPONSE_HEADERS, { waitForTrailers: true })
      onInbound(this.#endpoint.track(new GrpcChannel({
        stream,
        session,
        remoteIdentity: identity,
        accepted: true,
        maxMessageBytes: this.#maxMessageBytes,
        onClosed: this.#endpoint.forget
      })))
    })
  }

  /** HTTP/2 on an authenticated server socket: the session node's HTTP/2 server makes of it (synchronously). */
  #serverSession (socket: TLSSocket): ServerHttp2Session {
    // node clears this at the end of the handshake only for a tls.Server's sockets and for clients;
    // node:http2 would wait for a 'secureConnect' that a server socket never emits
    (socket as TLSSocket & { secureConnecting: boolean }).secureConnecting = false
    let session: ServerHttp2Session | undefined
    const take = (s: ServerHttp2Session): void => { session = s }
    this.#http2.once('session', take)
    this.#http2.emit('connection', socket)
    this.#http2.off('session', take)
    if (session === undefined) throw new HandshakeFailedError('node:http2 made no session of the connection')
    this.#sessions.set(socket, session)
    session.setLocalWindowSize(this.#windowBytes)
    return session
  }

  async dial (address: string, options: DialOptions): Promise<Channel> {
    this.#endpoint.assertDialable(options.signal)
    const target = parseGrpcAddress(address, true)
    const { host, port } = target
    // SNI for a proxy that routes by name; none for an IP address
    const servername = isIP(host) === 0 ? host : undefined
    const channel = await this.#endpoint.dial<GrpcChannel>(address, target, { signal: options.signal, servername }, (dial, socket) => {
      // HTTP/2 on the authenticated socket, and the link call; the handshake is over at its response headers
      const { onError } = dial
      const s = http2Connect(authority(host, port), { createConnection: () => socket, settings: this.#settings })
      this.#sessions.set(socket, s)
      s.on('error', onError)
      dial.onSettle(() => { s.off('error', onError) })
      s.on('error', this.#onSocketError)
      s.once('connect', () => { s.setLocalWindowSize(this.#windowBytes) })
      const stream = s.request(requestHeaders(), { endStream: false })
      stream.on('error', onError)
      stream.once('response', (headers: IncomingHttpHeaders) => {
        const refusal = responseRefusal(headers)
        if (refusal !== undefined) {
          dial.fail(new GrpcCallRefusedError(`${address} refused the link call: gRPC status ${refusal.status}: ${refusal.message}`))
          return
        }
        stream.off('error', onError)
        dial.succeed(new GrpcChannel({
          stream,
          session: s,
          remoteIdentity: dial.identity,
          accepted: false,
          maxMessageBytes: this.#maxMessageBytes,
          onClosed: this.#endpoint.forget
        }))
      })
    })
    if (this.#endpoint.stopped) {
      channel.abort(new TransportStoppedError('the gRPC transport stopped during the dial'))
      throw new TransportStoppedError('the gRPC transport stopped during the dial')
    }
    return this.#endpoint.track(channel)
  }

  /** For sockets, sessions and streams whose failure another listener reports: keeps node from throwing an unhandled 'error'. */
  readonly #onSocketError = (err: Error): void => {
    this.#log?.debug({ err: err.message }, 'gRPC connection error')
  }

  /** Drop a connection at once: through its HTTP/2 session once it has one, else with a TCP reset. */
  #drop (socket: TLSSocket, tcp: Socket, err: Error): void {
    const session = this.#sessions.get(socket)
    if (session !== undefined) dropSession(session, err)
    else resetConnection(socket, tcp)
  }

  async disconnect (identity: string): Promise<void> {
    this.#endpoint.disconnect(identity)
  }

  async stop (): Promise<void> {
    await this.#endpoint.stop()
  }
}

function authority (host: string, port: number): string {
  return isIP(host) === 6 ? `https://[${host}]:${port}` : `https://${host}:${port}`
}
