import { createSecureServer, createServer } from 'node:http2'
import { performance } from 'node:perf_hooks'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { Code, ConnectError } from '@connectrpc/connect'
import { parseTimeout } from '@connectrpc/connect/protocol-grpc'
import { encodeGrpcMessage, reencodeGrpcMessage } from './grpc-message.ts'
import { API_SESSION_WINDOW_BYTES, API_STREAM_WINDOW_BYTES } from './http2-windows.ts'
import { checkInterceptor, runChecks } from './call-checks.ts'
import { connectListener } from './connect-listener.ts'
import { http2StreamContextValues } from './response-outcome.ts'
import type { Http2SecureServer, Http2Server, Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { CallCheck, CallHeaders } from './call-checks.ts'
import type { DescMessage, DescMethodUnary, MessageInitShape, MessageShape } from '@bufbuild/protobuf'
import type { ConnectRouter } from '@connectrpc/connect'
import type { Logger } from '../core/logger.ts'
import type { RpcMetrics } from './rpc-metrics.ts'

/** PEM certificates and key of the API's TLS. */
export interface ApiTlsOptions {
  /** The server's certificate chain. */
  cert: string | Buffer
  /** The server's private key. */
  key: string | Buffer
  /**
   * CA certificates that sign client certificates. When given, every client
   * must present a certificate signed by one of them.
   * @default none: clients are not asked for certificates
   */
  clientCa?: string | Buffer
}

export interface ApiServerOptions {
  host: string
  port: number
  routes: (router: ConnectRouter) => void
  /**
   * Unary methods whose binary gRPC calls take the fast path (see
   * {@link fastUnary}); every protocol of them is served by `routes` too.
   * @default none
   */
  fastUnary?: readonly FastUnaryMethod[]
  /** Largest request message accepted. */
  readMaxBytes: number
  /**
   * What every call must pass before its handler runs, in order (the bearer
   * token: `BearerTokenAuth`), on both ways into a handler: connect-node's
   * interceptors are made from this list and the gRPC fast path runs it.
   * @default none: every call runs
   */
  checks?: readonly CallCheck[]
  /**
   * Serve HTTP/2 over TLS (ALPN `h2`) instead of h2c.
   * @default none: h2c
   */
  tls?: ApiTlsOptions
  logger: Logger
  /**
   * Where every call is counted and timed, those on the gRPC fast path included.
   * @default undefined (not recorded)
   */
  rpcMetrics?: RpcMetrics
}

/**
 * A unary method answered without connect's generic pipeline: synchronous,
 * no context. It throws `ConnectError`s for failed calls.
 */
type FastUnaryHandler = (request: never) => object

interface FastUnaryRoute {
  /** Fully-qualified name of the service, for the token check. */
  service: string
  input: DescMessage
  output: DescMessage
  handle: FastUnaryHandler
  /** Records the call, when the server has metrics. */
  record?: (code: Code | 0, startMs: number) => void
}

/** A unary method for the fast path, as {@link fastUnary} makes it. */
export interface FastUnaryMethod {
  readonly path: string
  readonly route: FastUnaryRoute
}

/**
 * A unary method whose binary gRPC calls an ApiServer serves on its fast
 * path (hand it to `ApiServerOptions.fastUnary`; `routes` must still serve
 * the method, over Connect, gRPC-Web and gRPC+JSON). The handler must be
 * synchronous and must not need a HandlerContext; it throws `ConnectError`.
 */
export function fastUnary<I extends DescMessage, O extends DescMessage> (
  method: DescMethodUnary<I, O>,
  handle: (request: MessageShape<I>) => MessageInitShape<O>
): FastUnaryMethod {
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    route: { service: method.parent.typeName, input: method.input, output: method.output, handle: handle as FastUnaryHandler }
  }
}

/**
 * The API endpoint: HTTP/2 without TLS (h2c) or over TLS, where one port
 * answers gRPC, Connect and gRPC-Web. Every call passes the same
 * {@link ApiServerOptions.checks} (connect-node's as interceptors, the fast
 * path's before its request is read) and the same metrics. Responses are never compressed: on a local link gzip
 * costs far more than it saves.
 *
 * Binary gRPC calls of the methods in `fastUnary`
 * skip connect-node's pipeline (Fetch headers, abort controllers, async
 * iterables per call), which cost about 5x the CPU of a bare grpc-js server
 * per unary call; everything else goes to connect-node. Sockets have Nagle
 * off: with many calls in flight, small responses otherwise wait for the
 * peer's delayed ACK.
 */
export class ApiServer {
  readonly host: string
  readonly port: number
  readonly #server: Http2Server | Http2SecureServer
  readonly #sessions = new Set<Http2Session>()
  #closing?: Promise<void>

  private constructor (server: Http2Server | Http2SecureServer, host: string, port: number) {
    this.#server = server
    this.host = host
    this.port = port
    server.on('session', session => {
      session.setLocalWindowSize(API_SESSION_WINDOW_BYTES)
      this.#sessions.add(session)
      session.once('close', () => this.#sessions.delete(session))
    })
  }

  static async listen (options: ApiServerOptions): Promise<ApiServer> {
    // a route per server: its metrics series are this server's
    const fast = new Map<string, FastUnaryRoute>((options.fastUnary ?? []).map(m => [m.path, { ...m.route }]))
    const checks = options.checks ?? []
    const handler = connectListener({
      routes: options.routes,
      logger: options.logger,
      acceptCompression: [],
      readMaxBytes: options.readMaxBytes,
      // handlers can learn whether a response reached its client whole (Pull counts what it did not)
      contextValues: http2StreamContextValues,
      // metrics outermost, so refused calls are counted with their code
      interceptors: [
        ...(options.rpcMetrics === undefined ? [] : [options.rpcMetrics.interceptor]),
        ...checks.map(checkInterceptor)
      ]
    })
    const metrics = options.rpcMetrics
    if (metrics !== undefined) {
      for (const [path, route] of fast) {
        const series = metrics.series(path)
        route.record = (code, startMs) => { metrics.observe(series, code, startMs) }
      }
    }
    const log = options.logger
    const onRequest = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
      const route = fast.get(req.url)
      if (route !== undefined && isBinaryGrpc(req)) {
        serveFastUnary(route, req, res, options.readMaxBytes, checks, log)
        return
      }
      if (isGrpc(req)) encodeGrpcMessagesAsSpecified(res)
      handler(req, res)
    }
    const settings = { initialWindowSize: API_STREAM_WINDOW_BYTES }
    const tls = options.tls
    const server = tls === undefined
      ? createServer({ settings }, onRequest)
      : createSecureServer({
        settings,
        cert: tls.cert,
        key: tls.key,
        ca: tls.clientCa,
        requestCert: tls.clientCa !== undefined,
        rejectUnauthorized: tls.clientCa !== undefined,
        ALPNProtocols: ['h2']
      }, onRequest)
    server.on('connection', (socket: Socket) => { socket.setNoDelay(true) })
    if (tls !== undefined) {
      server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
        log.debug({ remote: socket.remoteAddress, err: err.message }, 'TLS handshake with an API client failed')
      })
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', err => { options.logger.error({ err: err.message }, 'API server error') })
    const { port } = server.address() as AddressInfo
    return new ApiServer(server, options.host, port)
  }

  /** `host:port`, IPv6 hosts in brackets. */
  get address (): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`
  }

  /**
   * Stop accepting connections, let calls in progress finish for up to
   * `graceMs`, then close what is left. Idempotent.
   */
  async close (graceMs = 2_000): Promise<void> {
    this.#closing ??= this.#close(graceMs)
    await this.#closing
  }

  async #close (graceMs: number): Promise<void> {
    const closed = new Promise<void>(resolve => { this.#server.close(() => { resolve() }) })
    for (const session of this.#sessions) session.close()
    const timer = setTimeout(() => {
      for (const session of this.#sessions) session.destroy()
    }, graceMs)
    await closed
    clearTimeout(timer)
  }
}

/** gRPC (not gRPC-Web, whose trailers travel in the body): `application/grpc` or `application/grpc+…`. */
function isGrpc (req: Http2ServerRequest): boolean {
  const type = req.headers['content-type']
  return type !== undefined && (type === 'application/grpc' || type.startsWith('application/grpc+'))
}

/** Have the `grpc-message` trailer connect-node writes encoded as the gRPC spec says (see grpc-message.ts). */
function encodeGrpcMessagesAsSpecified (res: Http2ServerResponse): void {
  const addTrailers = res.addTrailers.bind(res)
  res.addTrailers = (trailers) => {
    const message = trailers['grpc-message']
    if (typeof message === 'string') trailers['grpc-message'] = reencodeGrpcMessage(message)
    addTrailers(trailers)
  }
}

/** POST, `application/grpc` or `application/grpc+proto`, not compressed. */
function isBinaryGrpc (req: Http2ServerRequest): boolean {
  const h = req.headers
  const type = h['content-type']
  const encoding = h['grpc-encoding']
  return req.method === 'POST' &&
    (type === 'application/grpc' || type === 'application/grpc+proto') &&
    (encoding === undefined || encoding === 'identity')
}

/** The request headers as checks read them (one value per name, as `Headers.get` joins them). */
function headersOf (req: Http2ServerRequest): CallHeaders {
  const h = req.headers
  return {
    get: name => {
      const v = h[name]
      return Array.isArray(v) ? v.join(', ') : v
    }
  }
}

/** Envelope prefix: one flags byte, four bytes of big-endian length. */
const ENVELOPE_PREFIX_BYTES = 5

/**
 * One unary gRPC call: read the single envelope, decode, call, answer with
 * the encoded response and `grpc-status` in the trailers (or the error's
 * status and message, as connect writes them).
 */
function serveFastUnary (route: FastUnaryRoute, req: Http2ServerRequest, res: Http2ServerResponse, readMaxBytes: number, checks: readonly CallCheck[], log: Logger): void {
  const start = route.record === undefined ? 0 : performance.now()
  const chunks: Buffer[] = []
  let size = 0
  let answered = false
  let deadline: ReturnType<typeof setTimeout> | undefined
  const fail = (err: ConnectError): void => {
    if (answered) return
    answered = true
    clearTimeout(deadline)
    route.record?.(err.code, start)
    res.writeHead(200, { 'content-type': 'application/grpc+proto' })
    res.addTrailers({ 'grpc-status': String(err.code), 'grpc-message': encodeGrpcMessage(err.rawMessage) })
    res.end()
  }
  if (checks.length > 0) {
    try {
      runChecks(checks, route.service, headersOf(req))
    } catch (err) {
      // the request is neither read nor handled
      fail(err as ConnectError)
      req.resume()
      return
    }
  }
  // the handler is synchronous: the deadline can only pass while the request is read
  const header = req.headers['grpc-timeout']
  const timeout = parseTimeout(typeof header === 'string' ? header : null, Number.MAX_SAFE_INTEGER)
  if (timeout.error !== undefined) {
    fail(timeout.error)
    req.resume()
    return
  }
  if (timeout.timeoutMs !== undefined) {
    deadline = setTimeout(() => {
      fail(new ConnectError('the operation timed out', Code.DeadlineExceeded))
      req.resume()
    }, timeout.timeoutMs)
  }
  req.on('data', (chunk: Buffer) => {
    if (answered) return
    size += chunk.byteLength
    if (size > readMaxBytes + ENVELOPE_PREFIX_BYTES) {
      fail(new ConnectError(`message size ${size - ENVELOPE_PREFIX_BYTES} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted))
      return
    }
    chunks.push(chunk)
  })
  req.on('error', err => {
    log.debug({ err: err.message }, 'gRPC request stream failed')
    clearTimeout(deadline)
    if (!answered) {
      answered = true
      route.record?.(Code.Canceled, start)
    }
  })
  req.on('end', () => {
    if (answered) return
    clearTimeout(deadline)
    let output: Uint8Array
    try {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)
      if (size < ENVELOPE_PREFIX_BYTES) throw new ConnectError('protocol error: missing input message', Code.Unimplemented)
      if ((body[0] & 1) !== 0) throw new ConnectError('received compressed envelope, but no compression was negotiated', Code.Internal)
      const length = body.readUInt32BE(1)
      if (length !== size - ENVELOPE_PREFIX_BYTES) throw new ConnectError('protocol error: expected exactly one input message', Code.Unimplemented)
      let input
      try {
        input = fromBinary(route.input, body.subarray(ENVELOPE_PREFIX_BYTES))
      } catch (err) {
        throw new ConnectError(`parse binary: ${(err as Error).message}`, Code.Internal)
      }
      output = toBinary(route.output, create(route.output, route.handle(input as never) as never))
    } catch (err) {
      fail(ConnectError.from(err, Code.Internal))
      return
    }
    const envelope = Buffer.allocUnsafe(ENVELOPE_PREFIX_BYTES + output.byteLength)
    envelope[0] = 0
    envelope.writeUInt32BE(output.byteLength, 1)
    envelope.set(output, ENVELOPE_PREFIX_BYTES)
    answered = true
    route.record?.(0, start)
    res.writeHead(200, { 'content-type': 'application/grpc+proto' })
    res.addTrailers({ 'grpc-status': '0' })
    res.end(envelope)
  })
}
