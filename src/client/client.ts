import { connect as tcpConnect } from 'node:net'
import { createClient } from '@connectrpc/connect'
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node'
import { TransportService } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import { API_SESSION_WINDOW_BYTES, API_STREAM_WINDOW_BYTES } from '../service/http2-windows.ts'
import type { ClientHttp2Stream, Http2Session, OutgoingHttpHeaders } from 'node:http2'
import type { Client } from '@connectrpc/connect'

export type MirnetClient = Client<typeof TransportService>

/** connect-node's session manager, with the connection window widened once per session. */
class WideWindowSessionManager extends Http2SessionManager {
  readonly #widened = new WeakSet<Http2Session>()

  override async request (method: string, path: string, headers: OutgoingHttpHeaders, options: Parameters<Http2SessionManager['request']>[3]): Promise<ClientHttp2Stream> {
    const stream = await super.request(method, path, headers, options)
    const session = stream.session
    if (session !== undefined && !this.#widened.has(session)) {
      this.#widened.add(session)
      session.setLocalWindowSize(API_SESSION_WINDOW_BYTES)
    }
    return stream
  }
}

/**
 * A TypeScript client of a mirnet daemon's TransportService, over gRPC on
 * HTTP/2 without TLS. `address` is the daemon's `host:port` (as in its ready
 * line) or a full `http://` URL.
 */
export function createMirnetClient (address: string): MirnetClient {
  const baseUrl = address.startsWith('http') ? address : `http://${address}`
  const sessionManager = new WideWindowSessionManager(baseUrl, undefined, {
    settings: { initialWindowSize: API_STREAM_WINDOW_BYTES },
    // Nagle off: a small request otherwise waits for the ACK of the one before
    createConnection: (authority: URL) => tcpConnect({ host: authority.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(authority.port === '' ? 80 : authority.port), noDelay: true })
  })
  return createClient(TransportService, createGrpcTransport({ baseUrl, sessionManager }))
}

/**
 * Received messages one by one from a Receive stream. Leaving the loop (break,
 * return, throw) cancels the stream. With connect-es, breaking out of
 * `for await (… of client.receive())` does not cancel the HTTP/2 stream: the
 * daemon goes on handing it messages that are never read.
 */
export async function * receiveMessages (
  client: MirnetClient,
  options: { maxBatchMessages?: number, signal?: AbortSignal, timeoutMs?: number } = {}
): AsyncGenerator<{ from: string, payload: Uint8Array }, void, undefined> {
  const abort = new AbortController()
  // a deadline as a signal too: connect-es keeps the timer of `timeoutMs` alive after a cancel
  const signals = [abort.signal]
  if (options.signal !== undefined) signals.push(options.signal)
  if (options.timeoutMs !== undefined) signals.push(AbortSignal.timeout(options.timeoutMs))
  const signal = AbortSignal.any(signals)
  const batches = client.receive({ maxBatchMessages: options.maxBatchMessages ?? 0 }, { signal })[Symbol.asyncIterator]()
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
