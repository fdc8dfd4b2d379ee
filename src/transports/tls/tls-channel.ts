import { StreamClosedError } from '../../core/errors.ts'
import type { Bytes, Channel, ChannelHandler } from '../../core/transport.ts'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'

/** The remote end closed the connection without finishing its side cleanly. */
export class ConnectionLostError extends Error {
  override name = 'ConnectionLostError'
}

/**
 * One authenticated TLS connection seen as a core Channel: mirnet's frames go
 * straight on the TLS stream, no multiplexer. One connection per channel, so
 * a pair of members that both dial holds two connections, one per direction.
 *
 * - `send()` is `socket.write()`: false past the socket's high-water mark,
 *   `onDrain` on its `drain`; `onIdle` when a write completes with nothing
 *   left in the write buffer.
 * - `close()` half-closes (TLS close_notify, then TCP FIN) once the buffered
 *   data went out; the remote's half-close is `onEnd`. The socket closes when
 *   both sides have ended.
 * - `abort()` resets the TCP connection (RST), so the remote sees an error,
 *   not a clean end; `abortConnection()` is the same, the connection being
 *   this channel's alone.
 * - `onClose` is called once, with the first error seen, if any.
 */
export class TlsChannel implements Channel {
  readonly remoteIdentity: string
  readonly socket: TLSSocket
  readonly #tcp: Socket
  readonly #onClosed: (channel: TlsChannel) => void
  #handler?: ChannelHandler
  #closed = false
  #error?: Error
  #ending?: Promise<void>
  #endingResolve?: () => void

  constructor (socket: TLSSocket, tcp: Socket, remoteIdentity: string, onClosed: (channel: TlsChannel) => void) {
    this.socket = socket
    this.#tcp = tcp
    this.remoteIdentity = remoteIdentity
    this.#onClosed = onClosed
    // node's socket errors (ECONNRESET, EPIPE) become a named error of this module
    socket.on('error', (err: Error) => { this.#error ??= new ConnectionLostError(`the connection to ${remoteIdentity} failed: ${err.message}`, { cause: err }) })
    socket.once('close', () => { this.#finish() })
    if (socket.destroyed) queueMicrotask(() => { this.#finish() })
  }

  get closed (): boolean { return this.#closed }

  setHandler (handler: ChannelHandler): void {
    this.#handler = handler
    if (this.#closed) {
      queueMicrotask(() => { handler.onClose(this.#error) })
      return
    }
    const socket = this.socket
    socket.on('data', (data: Buffer) => { handler.onData(data) })
    socket.on('drain', () => { handler.onDrain() })
    socket.on('end', () => { handler.onEnd() })
  }

  readonly #written = (err?: Error | null): void => {
    if (err == null && this.socket.writableLength === 0) this.#handler?.onIdle()
  }

  send (data: Bytes): boolean {
    const socket = this.socket
    if (this.#closed || socket.writableEnded || socket.destroyed) throw new StreamClosedError('cannot send on a closed channel')
    if (data instanceof Uint8Array) return socket.write(data, this.#written)
    let ok = true
    socket.cork()
    for (const chunk of data) ok = socket.write(chunk, this.#written)
    socket.uncork()
    return ok
  }

  pause (): void {
    if (this.#closed) throw new StreamClosedError('cannot pause a closed channel')
    this.socket.pause()
  }

  resume (): void {
    if (this.#closed) throw new StreamClosedError('cannot resume a closed channel')
    this.socket.resume()
  }

  abort (err: Error): void {
    if (this.#closed) return
    this.#error ??= err
    resetConnection(this.socket, this.#tcp)
  }

  abortConnection (err: Error): void {
    this.abort(err)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    if (this.#ending === undefined) {
      this.#ending = new Promise(resolve => { this.#endingResolve = resolve })
      this.socket.end(() => { this.#endingResolve?.() })
    }
    await this.#ending
  }

  #finish (): void {
    if (this.#closed) return
    this.#closed = true
    this.#endingResolve?.()
    // a socket that closed before both sides ended cleanly lost data or the peer
    if (this.#error === undefined && !(this.socket.readableEnded && this.socket.writableFinished)) {
      this.#error = new ConnectionLostError(`the connection to ${this.remoteIdentity} closed before both sides ended`)
    }
    this.#onClosed(this)
    this.#handler?.onClose(this.#error)
  }
}

/**
 * Drop a connection at once with a TCP reset, so that the remote sees an
 * error, not a clean end (a plain `destroy()` sends a FIN, which the remote
 * cannot tell from a graceful close). The reset goes to the TCP socket under
 * the TLS socket, which then closes too; resetting it *and* destroying the
 * TLS socket in the same turn crashes node (24.x) in its TLS wrap, so the TLS
 * socket is destroyed directly only when it is already on its way out, or a
 * turn later if the reset did not close it (a TCP socket without its handle
 * any more cannot be reset).
 */
export function resetConnection (socket: TLSSocket, tcp: Socket): void {
  if (socket.destroyed || tcp.destroyed) {
    socket.destroy()
    return
  }
  tcp.resetAndDestroy()
  setImmediate(() => { if (!socket.destroyed) socket.destroy() })
}
