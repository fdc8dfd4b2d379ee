import type { Bytes, Channel, ChannelHandler } from '../../core/transport.ts'
import type { Connection, Stream } from '@libp2p/interface'

/**
 * A libp2p stream seen as a core Channel. Events are forwarded as they come:
 * `message` chunks synchronously to `onData`, every `drain` event to `onDrain`
 * (the core waits for the next event, never for `stream.onDrain()`, whose
 * promise in @libp2p/utils 7.4 resolves once and then never again), `end`
 * (remote closed its writing side and everything was read) to `onEnd`.
 */
export class Libp2pChannel implements Channel {
  readonly remoteIdentity: string
  readonly stream: Stream
  readonly connection: Connection

  constructor (stream: Stream, connection: Connection) {
    this.stream = stream
    this.connection = connection
    this.remoteIdentity = connection.remotePeer.toString()
  }

  setHandler (handler: ChannelHandler): void {
    const stream = this.stream
    stream.addEventListener('message', evt => { handler.onData(evt.data) })
    stream.addEventListener('drain', () => { handler.onDrain() })
    stream.addEventListener('idle', () => { handler.onIdle() })
    stream.addEventListener('end', () => { handler.onEnd() })
    stream.addEventListener('close', evt => { handler.onClose(evt.error) }, { once: true })
  }

  send (data: Bytes): boolean {
    return this.stream.send(data)
  }

  pause (): void {
    this.stream.pause()
  }

  resume (): void {
    this.stream.resume()
  }

  abort (err: Error): void {
    this.stream.abort(err)
  }

  abortConnection (err: Error): void {
    this.connection.abort(err)
  }

  async close (): Promise<void> {
    await this.stream.close()
  }
}
