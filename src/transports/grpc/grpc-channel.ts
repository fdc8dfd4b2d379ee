import { constants } from 'node:http2'
import { ConnectionLostError, DuplexChannel } from '../tls/duplex-channel.ts'
import { trailersRefusal } from './grpc-call.ts'
import { GrpcMessageDecoder, GrpcMessageError, encodeMessagePrefix } from './grpc-message.ts'
import type { Bytes, ChannelHandler } from '../../core/transport.ts'
import type { ClientHttp2Stream, Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2'

/** The remote end of the call closed it with a gRPC error status. */
export class GrpcStatusError extends Error {
  override name = 'GrpcStatusError'
  readonly status: number

  constructor (status: number, message: string) {
    super(message)
    this.status = status
  }
}

export interface GrpcChannelParts {
  /** The call: the client's request stream on the dialer, the server's on the acceptor. */
  stream: ClientHttp2Stream | ServerHttp2Stream
  /** The HTTP/2 connection the call is the only one on. */
  session: Http2Session
  remoteIdentity: string
  /** Whether this end accepted the call (and so ends it with trailers). */
  accepted: boolean
  /** Largest data of one gRPC message, sent or received. */
  maxMessageBytes: number
  onClosed: (channel: GrpcChannel) => void
}

/**
 * One link call (gRPC over HTTP/2 over an authenticated TLS connection) seen
 * as a core Channel. Each call has its own HTTP/2 connection, so that a
 * channel's connection can be dropped without touching another's, as on the
 * TLS transport.
 *
 * - `send()` writes one gRPC message per `send()` (split at
 *   `maxMessageBytes`): prefix and data, corked into one write. It returns
 *   what the HTTP/2 stream's `write()` returns: false once the stream buffers
 *   past its high-water mark, which it does when the peer's HTTP/2 flow
 *   control window is used up; `onDrain` on `drain`.
 * - `pause()` pauses the stream: node stops consuming its data, so the
 *   window is not reopened and the peer stops.
 * - `close()` ends this end's half of the call: the dialer's request stream
 *   (END_STREAM), or the acceptor's response with trailers `grpc-status: 0`.
 *   The remote's end of its half is `onEnd`.
 * - `abort()` destroys the HTTP/2 connection at once, with a GOAWAY of code
 *   CANCEL, so the remote sees an error, not a clean end;
 *   `abortConnection()` is the same. (Not a TCP reset as on the TLS
 *   transport: node:http2 holds the TLS socket, and resetting the TCP socket
 *   under it crashes node 24.)
 * - When the call is over, its connection is closed (GOAWAY); `onClose` is
 *   called once, with the first error seen, if any.
 */
export class GrpcChannel extends DuplexChannel<ClientHttp2Stream | ServerHttp2Stream> {
  readonly #stream: ClientHttp2Stream | ServerHttp2Stream
  readonly #session: Http2Session
  readonly #maxMessageBytes: number
  readonly #decoder: GrpcMessageDecoder
  readonly #onClosed: (channel: GrpcChannel) => void

  constructor (parts: GrpcChannelParts) {
    const { stream, session } = parts
    super(stream, parts.remoteIdentity)
    this.#stream = stream
    this.#session = session
    this.#maxMessageBytes = parts.maxMessageBytes
    this.#decoder = new GrpcMessageDecoder(parts.maxMessageBytes)
    this.#onClosed = parts.onClosed
    const lost = (err: Error): void => {
      this.noteError(new ConnectionLostError(`the call to ${parts.remoteIdentity} failed: ${err.message}`, { cause: err }))
    }
    stream.on('error', lost)
    session.on('error', lost)
    if (parts.accepted) {
      stream.on('wantTrailers', () => { (stream as ServerHttp2Stream).sendTrailers({ 'grpc-status': '0' }) })
    } else {
      stream.on('trailers', (trailers: IncomingHttpHeaders) => {
        const refusal = trailersRefusal(trailers)
        if (refusal !== undefined) this.noteError(new GrpcStatusError(refusal.status, `${parts.remoteIdentity} ended the call with gRPC status ${refusal.status}: ${refusal.message}`))
      })
    }
    stream.once('close', () => { this.finish() })
    if (stream.destroyed) queueMicrotask(() => { this.finish() })
  }

  protected attach (handler: ChannelHandler): void {
    const stream = this.#stream
    stream.on('data', this.#onChunk)
    stream.on('drain', () => { handler.onDrain() })
    stream.on('end', () => {
      if (this.#decoder.partial) this.abort(new GrpcMessageError(`the call from ${this.remoteIdentity} ended inside a gRPC message`))
      else if (this.error instanceof GrpcStatusError) this.abort(this.error)
      else handler.onEnd()
    })
  }

  readonly #sink = (data: Uint8Array): void => { this.handler?.onData(data) }

  readonly #onChunk = (chunk: Buffer): void => {
    if (this.closed || this.error !== undefined) return
    try {
      this.#decoder.push(chunk, this.#sink)
    } catch (err) {
      this.abort(err as Error)
    }
  }

  send (data: Bytes): boolean {
    this.assertWritable()
    const stream = this.#stream
    const total = data.byteLength
    if (total === 0) return !stream.writableNeedDrain
    const max = this.#maxMessageBytes
    if (total <= max) return this.#write(data, total)
    let ok = true
    for (let start = 0; start < total; start += max) {
      const end = Math.min(total, start + max)
      ok = this.#write(data instanceof Uint8Array ? data.subarray(start, end) : data.sublist(start, end), end - start)
    }
    return ok
  }

  /** One gRPC message of `length` bytes of data: its prefix and the data in one corked write. */
  #write (data: Bytes, length: number): boolean {
    const stream = this.#stream
    stream.cork()
    let ok = stream.write(encodeMessagePrefix(length))
    if (data instanceof Uint8Array) {
      ok = stream.write(data, this.written)
    } else {
      for (const chunk of data) ok = stream.write(chunk, this.written)
    }
    stream.uncork()
    return ok
  }

  protected drop (err: Error): void {
    dropSession(this.#session, err)
  }

  protected onFinish (): void {
    const stream = this.#stream
    if (this.error === undefined) {
      const code = stream.rstCode
      if (code !== undefined && code !== constants.NGHTTP2_NO_ERROR) {
        this.noteError(new ConnectionLostError(`the call to ${this.remoteIdentity} was reset (HTTP/2 error code ${code})`))
      } else if (!(stream.readableEnded && stream.writableFinished)) {
        this.noteError(new ConnectionLostError(`the call to ${this.remoteIdentity} closed before both sides ended`))
      }
    }
    // one call per connection: the connection ends with it
    if (!this.#session.destroyed && !this.#session.closed) this.#session.close()
    this.#onClosed(this)
  }
}

/**
 * Drop an HTTP/2 connection at once: a GOAWAY with code CANCEL if it can
 * still be written, then the socket is destroyed, and every call on it fails
 * with `err`.
 */
export function dropSession (session: Http2Session, err: Error): void {
  if (!session.destroyed) session.destroy(err, constants.NGHTTP2_CANCEL)
}
