import { connect as tcpConnect, isIP } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { createClient } from '@connectrpc/connect'
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node'
import { TransportService } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import { CLIENT_SESSION_WINDOW_BYTES, CLIENT_STREAM_WINDOW_BYTES } from './http2-windows.ts'
import type { ClientHttp2Stream, Http2Session, OutgoingHttpHeaders } from 'node:http2'
import type { Client, Interceptor } from '@connectrpc/connect'
import type { Duplex } from 'node:stream'

export type MirnetClient = Client<typeof TransportService>

/** connect-node's session manager, with the connection window widened once per session. */
class WideWindowSessionManager extends Http2SessionManager {
  readonly #widened = new WeakSet<Http2Session>()

  override async request (method: string, path: string, headers: OutgoingHttpHeaders, options: Parameters<Http2SessionManager['request']>[3]): Promise<ClientHttp2Stream> {
    const stream = await super.request(method, path, headers, options)
    const session = stream.session
    if (session !== undefined && !this.#widened.has(session)) {
      this.#widened.add(session)
      session.setLocalWindowSize(CLIENT_SESSION_WINDOW_BYTES)
    }
    return stream
  }
}

/** TLS towards a daemon started with `--api-tls-cert`. PEM strings or buffers. */
export interface MirnetClientTls {
  /**
   * CA certificates that sign the daemon's certificate.
   * @default Node's bundled root CAs
   */
  ca?: string | Buffer
  /**
   * Client certificate chain, for a daemon started with `--api-tls-client-ca`.
   * @default none
   */
  cert?: string | Buffer
  /** Private key of `cert`. @default none */
  key?: string | Buffer
  /**
   * Name the daemon's certificate must carry.
   * @default the address's host name or IP address
   */
  serverName?: string
}

export interface MirnetClientOptions {
  /**
   * Bearer token sent on every call (`authorization: Bearer <token>`), for a
   * daemon started with `--api-token-file`.
   * @default none
   */
  token?: string
  /**
   * Connect over TLS (`https`). An `https://` address implies it.
   * @default none: h2c, unless the address is `https://`
   */
  tls?: MirnetClientTls
}

/**
 * A TypeScript client of a mirnet daemon's TransportService, over gRPC on
 * HTTP/2, without TLS (h2c) or with it. `address` is the daemon's
 * `host:port` (as in its ready line) or a full `http://` or `https://` URL.
 *
 * @example
 * ```ts
 * const client = createMirnetClient('10.0.0.5:7070', {
 *   token: (await readFile('api.token', 'utf8')).trim(),
 *   tls: { ca: await readFile('ca.pem') }
 * })
 * ```
 */
export function createMirnetClient (address: string, options: MirnetClientOptions = {}): MirnetClient {
  const tls = options.tls ?? (address.startsWith('https://') ? {} : undefined)
  const baseUrl = /^https?:\/\//.test(address) ? address : `${tls === undefined ? 'http' : 'https'}://${address}`
  const sessionManager = new WideWindowSessionManager(baseUrl, undefined, {
    settings: { initialWindowSize: CLIENT_STREAM_WINDOW_BYTES },
    createConnection: (authority: URL) => connectSocket(authority, tls)
  })
  const interceptors: Interceptor[] = []
  if (options.token !== undefined) interceptors.push(bearer(options.token))
  return createClient(TransportService, createGrpcTransport({ baseUrl, sessionManager, interceptors }))
}

/** The token in every call's headers. */
function bearer (token: string): Interceptor {
  const value = `Bearer ${token}`
  return next => async req => {
    req.header.set('authorization', value)
    return await next(req)
  }
}

/** A TCP connection with Nagle off (a small request otherwise waits for the ACK of the one before), TLS on it if asked. */
function connectSocket (authority: URL, tls: MirnetClientTls | undefined): Duplex {
  const host = authority.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = Number(authority.port === '' ? (tls === undefined ? 80 : 443) : authority.port)
  const socket = tcpConnect({ host, port, noDelay: true })
  if (tls === undefined) return socket
  const serverName = tls.serverName ?? host
  return tlsConnect({
    socket,
    host,
    // SNI takes host names only, never addresses (RFC 6066)
    servername: isIP(serverName) === 0 ? serverName : undefined,
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    ALPNProtocols: ['h2']
  })
}

/**
 * Received messages one by one from a Receive stream. Leaving the loop (break,
 * return, throw) cancels the stream. With connect-es, breaking out of
 * `for await (… of client.receive())` does not cancel the HTTP/2 stream: the
 * daemon goes on handing it messages that are never read. `lanes` limits
 * the stream to those lanes (default: every lane).
 */
export async function * receiveMessages (
  client: MirnetClient,
  options: { maxBatchMessages?: number, lanes?: string[], signal?: AbortSignal, timeoutMs?: number } = {}
): AsyncGenerator<{ from: string, payload: Uint8Array, lane: string }, void, undefined> {
  const abort = new AbortController()
  // a deadline as a signal too: connect-es keeps the timer of `timeoutMs` alive after a cancel
  const signals = [abort.signal]
  if (options.signal !== undefined) signals.push(options.signal)
  if (options.timeoutMs !== undefined) signals.push(AbortSignal.timeout(options.timeoutMs))
  const signal = AbortSignal.any(signals)
  const batches = client.receive({ maxBatchMessages: options.maxBatchMessages ?? 0, lanes: options.lanes ?? [] }, { signal })[Symbol.asyncIterator]()
  try {
    for (;;) {
      const next = await batches.next()
      if (next.done === true) return
      yield * next.value.messages
    }
  } finally {
    // cancel the call itself; the iterator's return() would wait for the stream to end
    abort.abort()
  }
}

/** How long a {@link pullMessages} call may take beyond its `waitMs` before its deadline passes. */
export const PULL_DEADLINE_MARGIN_MS = 10_000

/**
 * One Pull: the messages waiting now on `lanes` (default: every lane), at
 * most `maxMessages` (default: the daemon's, 256), waiting up to `waitMs`
 * (default 0: not at all) for a first one; empty when none came. The call's
 * deadline is `timeoutMs`, by default `waitMs` plus
 * {@link PULL_DEADLINE_MARGIN_MS}, so that an empty answer, not
 * DEADLINE_EXCEEDED, ends a wait without messages.
 *
 * For a consumer that reads when it is ready and wants the freshest messages:
 * nothing is taken from the daemon's inbox before the call. Use
 * {@link receiveMessages} for throughput.
 */
export async function pullMessages (
  client: MirnetClient,
  options: { maxMessages?: number, lanes?: string[], waitMs?: number, signal?: AbortSignal, timeoutMs?: number } = {}
): Promise<Array<{ from: string, payload: Uint8Array, lane: string }>> {
  const waitMs = options.waitMs ?? 0
  const res = await client.pull(
    { maxMessages: options.maxMessages ?? 0, lanes: options.lanes ?? [], waitMs },
    { signal: options.signal, timeoutMs: options.timeoutMs ?? waitMs + PULL_DEADLINE_MARGIN_MS }
  )
  return res.messages
}
