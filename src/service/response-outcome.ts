import { constants } from 'node:http2'
import { ConnectError, createContextKey, createContextValues } from '@connectrpc/connect'
import type { IncomingMessage } from 'node:http'
import type { Http2ServerRequest, ServerHttp2Stream } from 'node:http2'
import type { ContextValues, HandlerContext } from '@connectrpc/connect'

/** The HTTP/2 stream of the call being handled; undefined under a host of the router other than the ApiServer. */
const kHttp2Stream = createContextKey<ServerHttp2Stream | undefined>(undefined, { description: 'the call\'s HTTP/2 stream' })

/**
 * connect-node's `contextValues`: every call carries its HTTP/2 stream, so
 * that a handler can learn how its response ended (see {@link whenResponseEnds}).
 */
export function http2StreamContextValues (req: Http2ServerRequest | IncomingMessage): ContextValues {
  const values = createContextValues()
  if ('stream' in req) values.set(kHttp2Stream, req.stream)
  return values
}

/**
 * Call `ended` once, when the response of a unary call whose handler is about
 * to return has reached the client whole or has failed to: `true` when the
 * call's HTTP/2 stream closed cleanly (the response and its trailers went
 * out, nothing was reset), `false` when it was reset before that: the client
 * cancelled, its deadline passed, the connection broke. A client that
 * receives the response and then drops it is not seen.
 *
 * Served by a host other than the ApiServer (no HTTP/2 stream in the
 * context), the handler context's signal tells instead, less exactly: it
 * ends with a `ConnectError` when the call failed or was cancelled before
 * connect-node had handed the response to Node's stream, and without one
 * when it had, although the stream may still hold it (a client that reads
 * nothing and resets the call is then not seen).
 */
export function whenResponseEnds (ctx: HandlerContext, ended: (whole: boolean) => void): void {
  const stream = ctx.values.get(kHttp2Stream)
  if (stream !== undefined) {
    if (stream.closed) ended(stream.rstCode === constants.NGHTTP2_NO_ERROR)
    else stream.once('close', () => { ended(stream.rstCode === constants.NGHTTP2_NO_ERROR) })
    return
  }
  const signal = ctx.signal
  if (signal.aborted) ended(!(signal.reason instanceof ConnectError))
  else signal.addEventListener('abort', () => { ended(!(signal.reason instanceof ConnectError)) }, { once: true })
}
