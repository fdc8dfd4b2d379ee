import { StreamClosedError } from '../../core/errors.ts'
import { SendWindow } from './send-window.ts'
import type { Bytes, Channel, ChannelHandler } from '../../core/transport.ts'

/** The remote end reset the channel. */
export class ChannelResetError extends Error {
  override name = 'ChannelResetError'
}

/** More bytes arrived while paused than the read buffer may hold. */
export class ReadBufferOverflowError extends Error {
  override name = 'ReadBufferOverflowError'
}

/**
 * One end of an in-memory channel pair, with the behaviour the core relies on
 * from real streams: asynchronous delivery, a send window (send returns false
 * past it and `onDrain` follows once the peer has read), pause/resume that
 * stops the sender through that window, a bounded read buffer, and reset or
 * graceful close seen by both ends.
 */
export class MemoryChannel implements Channel {
  readonly remoteIdentity: string
  readonly windowBytes: number
  readonly maxReadBufferBytes: number
  peer!: MemoryChannel
  #handler?: ChannelHandler
  readonly #onClosed: (channel: MemoryChannel) => void
  #readBuffer: Bytes[] = []
  #readBytes = 0
  #deliveryScheduled = false
  #paused = false
  readonly #window: SendWindow
  #writeClosed = false
  #remoteEnded = false
  #endDelivered = false
  #closed = false
  /**
   * The path to the peer is cut: nothing sent arrives, nor does a close or a
   * reset, and nothing tells either end (see MemoryNetwork.cut).
   */
  blackhole = false

  constructor (remoteIdentity: string, windowBytes: number, onClosed: (channel: MemoryChannel) => void) {
    this.remoteIdentity = remoteIdentity
    this.windowBytes = windowBytes
    this.maxReadBufferBytes = windowBytes * 4
    this.#window = new SendWindow(windowBytes)
    this.#onClosed = onClosed
  }

  get closed (): boolean { return this.#closed }

  setHandler (handler: ChannelHandler): void {
    this.#handler = handler
    this.#scheduleDelivery()
  }

  send (data: Bytes): boolean {
    if (this.#closed || this.#writeClosed) throw new StreamClosedError('cannot send on a closed channel')
    const more = this.#window.sent(data.byteLength)
    if (!this.blackhole) this.peer.#receive(data)
    return more
  }

  pause (): void {
    if (this.#closed) throw new StreamClosedError('cannot pause a closed channel')
    this.#paused = true
  }

  resume (): void {
    if (this.#closed) throw new StreamClosedError('cannot resume a closed channel')
    this.#paused = false
    this.#deliver()
  }

  abort (err: Error): void {
    if (this.#closed) return
    this.#finish(err)
    if (!this.blackhole) this.peer.#onRemoteReset()
  }

  /** Channels have no shared connection here: the same as `abort()`. */
  abortConnection (err: Error): void {
    this.abort(err)
  }

  async close (): Promise<void> {
    if (this.#closed || this.#writeClosed) return
    this.#writeClosed = true
    if (!this.blackhole) this.peer.#onRemoteEnd()
  }

  #receive (data: Bytes): void {
    if (this.#closed) return
    this.#readBuffer.push(data)
    this.#readBytes += data.byteLength
    if (this.#readBytes > this.maxReadBufferBytes) {
      this.abort(new ReadBufferOverflowError(`read buffer of ${this.#readBytes} bytes exceeds ${this.maxReadBufferBytes}`))
      return
    }
    this.#scheduleDelivery()
  }

  #scheduleDelivery (): void {
    if (this.#deliveryScheduled) return
    this.#deliveryScheduled = true
    setImmediate(() => {
      this.#deliveryScheduled = false
      this.#deliver()
    })
  }

  #deliver (): void {
    const handler = this.#handler
    if (handler === undefined) return
    while (!this.#paused && !this.#closed && this.#readBuffer.length > 0) {
      const data = this.#readBuffer.shift() as Bytes
      this.#readBytes -= data.byteLength
      handler.onData(data)
      this.peer.#ack(data.byteLength)
    }
    if (this.#remoteEnded && this.#readBuffer.length === 0 && !this.#endDelivered && !this.#closed) {
      this.#endDelivered = true
      handler.onEnd()
      if (this.#writeClosed) this.#closeBoth()
    }
  }

  #ack (bytes: number): void {
    if (this.#closed) return
    const handler = this.#handler
    if (this.#window.read(bytes)) handler?.onIdle()
    if (this.#window.takeDrain()) handler?.onDrain()
  }

  #onRemoteEnd (): void {
    this.#remoteEnded = true
    if (this.#writeClosed && this.#readBuffer.length === 0) this.#closeBoth()
    else this.#scheduleDelivery()
  }

  /** Both ends have closed their writing side: the channel is done. */
  #closeBoth (): void {
    this.#finish()
    this.peer.#finish()
  }

  #onRemoteReset (): void {
    if (this.#closed) return
    this.#finish(new ChannelResetError('the remote end reset the channel'))
  }

  #finish (err?: Error): void {
    if (this.#closed) return
    this.#closed = true
    this.#readBuffer = []
    this.#readBytes = 0
    this.#onClosed(this)
    this.#handler?.onClose(err)
  }
}

/** Two connected ends: what one sends, the other receives. */
export function createChannelPair (
  dialer: { identity: string, onClosed: (c: MemoryChannel) => void },
  listener: { identity: string, onClosed: (c: MemoryChannel) => void },
  windowBytes: number
): [MemoryChannel, MemoryChannel] {
  const a = new MemoryChannel(listener.identity, windowBytes, dialer.onClosed)
  const b = new MemoryChannel(dialer.identity, windowBytes, listener.onClosed)
  a.peer = b
  b.peer = a
  return [a, b]
}
