import { StreamClosedError } from '../../core/errors.ts'
import type { Bytes, Channel, ChannelHandler } from '../../core/transport.ts'
import type { Duplex } from 'node:stream'

/** The remote end closed the connection without finishing its side cleanly. */
export class ConnectionLostError extends Error {
  override name = 'ConnectionLostError'
}

/**
 * What a core Channel over one node stream (a TLS socket, an HTTP/2 call)
 * keeps whatever the stream: it closes once, reporting the first error seen
 * (`noteError`), to the transport (`onFinish`) and then to the handler; a
 * handler set after the close hears of it at once. `pause()`/`resume()`
 * are the stream's; `close()` ends the stream's writing side once and
 * resolves when that is done or the channel closed; `abort()` records its
 * error and has the subclass drop the connection. `onIdle` follows a write
 * that left nothing buffered (`written`).
 *
 * Subclasses (TlsChannel, GrpcChannel) attach the stream's events to the
 * handler, write, drop the connection, and call `finish()` when the stream
 * has closed, as js-libp2p's AbstractStream leaves its subclasses the wire.
 */
export abstract class DuplexChannel<S extends Duplex> implements Channel {
  readonly remoteIdentity: string
  readonly #duplex: S
  #handler?: ChannelHandler
  #closed = false
  #error?: Error
  #ending?: Promise<void>
  #endingResolve?: () => void

  constructor (duplex: S, remoteIdentity: string) {
    this.#duplex = duplex
    this.remoteIdentity = remoteIdentity
  }

  get closed (): boolean { return this.#closed }
  /** The first error seen, if any: what `onClose` will report. */
  protected get error (): Error | undefined { return this.#error }
  protected get handler (): ChannelHandler | undefined { return this.#handler }

  /** Keep `err` as the reason of the close unless there is one already. */
  protected noteError (err: Error): void {
    this.#error ??= err
  }

  setHandler (handler: ChannelHandler): void {
    this.#handler = handler
    if (this.#closed) {
      queueMicrotask(() => { handler.onClose(this.#error) })
      return
    }
    this.attach(handler)
  }

  /** Deliver the stream's data, drain and end to `handler`. */
  protected abstract attach (handler: ChannelHandler): void

  abstract send (data: Bytes): boolean

  /** Throws `StreamClosedError` once closed or ended. */
  protected assertWritable (): void {
    const duplex = this.#duplex
    if (this.#closed || duplex.writableEnded || duplex.destroyed) throw new StreamClosedError('cannot send on a closed channel')
  }

  /** The write callback: `onIdle` when a write completed with nothing left buffered. */
  protected readonly written = (err?: Error | null): void => {
    if (err == null && this.#duplex.writableLength === 0) this.#handler?.onIdle()
  }

  pause (): void {
    if (this.#closed) throw new StreamClosedError('cannot pause a closed channel')
    this.#duplex.pause()
  }

  resume (): void {
    if (this.#closed) throw new StreamClosedError('cannot resume a closed channel')
    this.#duplex.resume()
  }

  abort (err: Error): void {
    if (this.#closed) return
    this.#error ??= err
    this.drop(err)
  }

  /** Drop the connection at once, so that the remote sees an error, not a clean end. */
  protected abstract drop (err: Error): void

  /** The connection is this channel's alone: the same as `abort()`. */
  abortConnection (err: Error): void {
    this.abort(err)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    if (this.#ending === undefined) {
      this.#ending = new Promise(resolve => { this.#endingResolve = resolve })
      this.#duplex.end(() => { this.#endingResolve?.() })
    }
    await this.#ending
  }

  /** The stream closed: `onFinish()`, then the handler hears of it. Once. */
  protected finish (): void {
    if (this.#closed) return
    this.#closed = true
    this.#endingResolve?.()
    this.onFinish()
    this.#handler?.onClose(this.#error)
  }

  /** Runs once as the channel closes, before the handler hears of it: `noteError()` what the stream's state says went wrong, if nothing did, and tell the transport. */
  protected abstract onFinish (): void
}
