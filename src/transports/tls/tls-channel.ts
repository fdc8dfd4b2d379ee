import { ConnectionLostError, DuplexChannel } from './duplex-channel.ts'
import type { Bytes, ChannelHandler } from '../../core/transport.ts'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'

export { ConnectionLostError } from './duplex-channel.ts'

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
export class TlsChannel extends DuplexChannel<TLSSocket> {
  readonly socket: TLSSocket
  readonly #tcp: Socket
  readonly #onClosed: (channel: TlsChannel) => void

  constructor (socket: TLSSocket, tcp: Socket, remoteIdentity: string, onClosed: (channel: TlsChannel) => void) {
    super(socket, remoteIdentity)
    this.socket = socket
    this.#tcp = tcp
    this.#onClosed = onClosed
    // node's socket errors (ECONNRESET, EPIPE) become a named error of this module
    socket.on('error', (err: Error) => { this.noteError(new ConnectionLostError(`the connection to ${remoteIdentity} failed: ${err.message}`, { cause: err })) })
    socket.once('close', () => { this.finish() })
    if (socket.destroyed) queueMicrotask(() => { this.finish() })
  }

  protected attach (handler: ChannelHandler): void {
    const socket = this.socket
    socket.on('data', (data: Buffer) => { handler.onData(data) })
    socket.on('drain', () => { handler.onDrain() })
    socket.on('end', () => { handler.onEnd() })
  }

  send (data: Bytes): boolean {
    this.assertWritable()
    const socket = this.socket
    if (data instanceof Uint8Array) return socket.write(data, this.written)
    let ok = true
    socket.cork()
    for (const chunk of data) ok = socket.write(chunk, this.written)
    socket.uncork()
    return ok
  }

  protected drop (): void {
    resetConnection(this.socket, this.#tcp)
  }

  protected onFinish (): void {
    // a socket that closed before both sides ended cleanly lost data or the peer
    if (!(this.socket.readableEnded && this.socket.writableFinished)) {
      this.noteError(new ConnectionLostError(`the connection to ${this.remoteIdentity} closed before both sides ended`))
    }
    this.#onClosed(this)
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
 *
 * Once either socket has begun its shutdown (`end()`: the FIN is on its way,
 * so the remote sees an end whatever follows), the connection is closed
 * without a reset: libuv refuses to reset a TCP handle that is shutting down
 * (EINVAL), and node (24.x) then never closes that handle, which leaks its
 * descriptor and makes the process spin forever when it exits on its own.
 *
 * A reset in the same turn as the handshake's completion (secureConnect)
 * reaches the remote as a clean end, not ECONNRESET (node 24.21); from the
 * next turn on it is a reset. Either way the connection is gone at once.
 */
export function resetConnection (socket: TLSSocket, tcp: Socket): void {
  if (socket.destroyed || tcp.destroyed) {
    socket.destroy()
    return
  }
  if (socket.writableEnded || tcp.writableEnded) {
    socket.destroy()
    tcp.destroy()
    return
  }
  tcp.resetAndDestroy()
  setImmediate(() => { if (!socket.destroyed) socket.destroy() })
}
