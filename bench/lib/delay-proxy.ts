/**
 * A TCP proxy on 127.0.0.1 that makes a long link out of loopback: every
 * chunk read from one side is written to the other `delayMs` later (one-way
 * delay, so a round trip through the proxy takes 2 × `delayMs`), in order,
 * without a bandwidth limit. `tc netem` would do this in the kernel; the
 * bench's kernels do not have it.
 *
 * Memory is bounded: a direction holding more than `maxBufferedBytes`
 * (delayed plus not yet taken by the destination socket) stops reading its
 * source until it is down to half, so TCP's flow control pushes back on the
 * sender as a slow link would. A delay change applies to chunks read from
 * then on, never reordering what is already held.
 *
 * Half-closes are forwarded (delayed like data); an error or reset on either
 * side destroys both (counted in `errors`, per socket). `close()` refuses new
 * connections, destroys the open ones and resolves once every socket is closed.
 */
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'

export interface DelayProxyInit {
  /** Where connections are forwarded to. */
  targetHost: string
  targetPort: number
  /**
   * One-way delay added to each direction (ms); the round trip gains twice this.
   * @default 0
   */
  delayMs?: number
  /**
   * Bytes held per direction of a connection before the proxy stops reading from its source.
   * @default 64 MiB
   */
  maxBufferedBytes?: number
}

export interface DelayProxyStats {
  /** Connections accepted since start. */
  connections: number
  /** Connections open now. */
  open: number
  /** Bytes written towards the target, and back towards the clients. */
  bytesToTarget: number
  bytesFromTarget: number
  /** Socket errors (resets, refused upstream connections); each ends its connection. */
  errors: number
  /** Most bytes one direction held at once (delayed plus unwritten): at most `maxBufferedBytes` plus one read. */
  peakBufferedBytes: number
}

const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024

/** What one direction holds: a chunk and when it may go, or the source's end. */
interface Held {
  chunk: Buffer | null
  dueAt: number
}

/** One direction of a proxied connection: reads `from`, writes `to` after the delay. */
class DelayedPipe {
  readonly #from: Socket
  readonly #to: Socket
  readonly #proxy: DelayProxy
  readonly #countTo: (bytes: number) => void
  readonly #held: Held[] = []
  #head = 0
  #heldBytes = 0
  #lastDueAt = 0
  #timer?: NodeJS.Timeout
  #paused = false

  constructor (from: Socket, to: Socket, proxy: DelayProxy, countTo: (bytes: number) => void) {
    this.#from = from
    this.#to = to
    this.#proxy = proxy
    this.#countTo = countTo
    from.on('data', this.#onData)
    from.on('end', this.#onEnd)
    to.on('drain', this.#checkResume)
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#hold(chunk)
    const buffered = this.#buffered()
    this.#proxy.notePeak(buffered)
    if (!this.#paused && buffered > this.#proxy.maxBufferedBytes) {
      this.#paused = true
      this.#from.pause()
    }
  }

  readonly #onEnd = (): void => { this.#hold(null) }

  #hold (chunk: Buffer | null): void {
    const delayMs = this.#proxy.delayMs
    if (delayMs === 0 && this.#head === this.#held.length) {
      this.#write(chunk)
      return
    }
    // never before an earlier chunk, whatever the delay became meanwhile
    const dueAt = Math.max(performance.now() + delayMs, this.#lastDueAt)
    this.#lastDueAt = dueAt
    this.#held.push({ chunk, dueAt })
    if (chunk !== null) this.#heldBytes += chunk.byteLength
    if (this.#timer === undefined) this.#schedule()
  }

  #schedule (): void {
    const next = this.#held[this.#head]
    if (next === undefined) return
    // a timer may fire up to a millisecond early by the high-resolution clock: check and wait again
    this.#timer = setTimeout(this.#flush, Math.max(0, Math.ceil(next.dueAt - performance.now())))
  }

  readonly #flush = (): void => {
    this.#timer = undefined
    const now = performance.now()
    while (this.#head < this.#held.length && this.#held[this.#head].dueAt <= now) {
      const { chunk } = this.#held[this.#head++]
      if (chunk !== null) this.#heldBytes -= chunk.byteLength
      this.#write(chunk)
    }
    if (this.#head === this.#held.length) {
      this.#held.length = 0
      this.#head = 0
    } else if (this.#head > 1024) {
      this.#held.splice(0, this.#head)
      this.#head = 0
    }
    this.#checkResume()
    this.#schedule()
  }

  #write (chunk: Buffer | null): void {
    if (this.#to.destroyed) return
    if (chunk === null) {
      this.#to.end()
      return
    }
    this.#to.write(chunk)
    this.#countTo(chunk.byteLength)
  }

  #buffered (): number {
    return this.#heldBytes + this.#to.writableLength
  }

  readonly #checkResume = (): void => {
    if (this.#paused && this.#buffered() <= this.#proxy.maxBufferedBytes / 2) {
      this.#paused = false
      this.#from.resume()
    }
  }

  /** Drop what is held (the connection is being destroyed). */
  stop (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#held.length = 0
    this.#head = 0
    this.#heldBytes = 0
  }
}

export class DelayProxy {
  /** One-way delay (ms) for chunks read from now on. */
  delayMs: number
  readonly maxBufferedBytes: number
  readonly #server: Server
  readonly #targetHost: string
  readonly #targetPort: number
  readonly #sockets = new Set<Socket>()
  #port = 0
  readonly #stats: DelayProxyStats = { connections: 0, open: 0, bytesToTarget: 0, bytesFromTarget: 0, errors: 0, peakBufferedBytes: 0 }
  #closing?: Promise<void>

  private constructor (init: DelayProxyInit) {
    this.delayMs = init.delayMs ?? 0
    this.maxBufferedBytes = init.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES
    if (!Number.isFinite(this.delayMs) || this.delayMs < 0) throw new RangeError(`delayMs must be a non-negative number, got ${this.delayMs}`)
    if (!Number.isSafeInteger(this.maxBufferedBytes) || this.maxBufferedBytes < 1) throw new RangeError(`maxBufferedBytes must be a positive integer, got ${this.maxBufferedBytes}`)
    this.#targetHost = init.targetHost
    this.#targetPort = init.targetPort
    this.#server = createServer({ allowHalfOpen: true, noDelay: true }, this.#onConnection)
  }

  /** Listen on 127.0.0.1 at an ephemeral port. */
  static async start (init: DelayProxyInit): Promise<DelayProxy> {
    const proxy = new DelayProxy(init)
    proxy.#server.listen(0, '127.0.0.1')
    await once(proxy.#server, 'listening')
    proxy.#port = (proxy.#server.address() as AddressInfo).port
    return proxy
  }

  /** The port it listens on (kept after `close()`). */
  get port (): number { return this.#port }

  stats (): DelayProxyStats {
    return { ...this.#stats, open: this.#sockets.size / 2 }
  }

  /** @internal a direction now holds `bytes`. */
  notePeak (bytes: number): void {
    if (bytes > this.#stats.peakBufferedBytes) this.#stats.peakBufferedBytes = bytes
  }

  readonly #onConnection = (client: Socket): void => {
    if (this.#closing !== undefined) {
      client.destroy()
      return
    }
    this.#stats.connections++
    const upstream = connect({ host: this.#targetHost, port: this.#targetPort, allowHalfOpen: true, noDelay: true })
    const up = new DelayedPipe(client, upstream, this, n => { this.#stats.bytesToTarget += n })
    const down = new DelayedPipe(upstream, client, this, n => { this.#stats.bytesFromTarget += n })
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket)
      // a reset or failure on one side ends both: the proxy keeps no half-dead pairs
      socket.on('error', () => {
        this.#stats.errors++
        client.destroy()
        upstream.destroy()
      })
      // a clean close leaves the other side to finish what is held for it (its end included)
      socket.on('close', hadError => {
        this.#sockets.delete(socket)
        if (!hadError) return
        up.stop()
        down.stop()
        client.destroy()
        upstream.destroy()
      })
    }
  }

  /** Stop listening, destroy every connection, resolve once all sockets are closed. Idempotent. */
  async close (): Promise<void> {
    this.#closing ??= this.#close()
    await this.#closing
  }

  async #close (): Promise<void> {
    const closed = once(this.#server, 'close')
    this.#server.close()
    const sockets = [...this.#sockets]
    await Promise.all([closed, ...sockets.map(async s => {
      if (s.closed) return
      const gone = once(s, 'close')
      s.destroy()
      await gone
    })])
  }
}

/** `address` (`/ip4/H/tcp/P/p2p/ID`) with the TCP port replaced by `port` on 127.0.0.1. */
export function addressVia (address: string, port: number): string {
  const m = /^\/ip4\/[^/]+\/tcp\/\d+(\/.*)$/.exec(address)
  if (m === null) throw new Error(`address "${address}" is not /ip4/<host>/tcp/<port>/…`)
  return `/ip4/127.0.0.1/tcp/${port}${m[1]}`
}

/** Host and TCP port of an `/ip4/H/tcp/P/…` address. */
export function tcpTarget (address: string): { host: string, port: number } {
  const m = /^\/ip4\/([^/]+)\/tcp\/(\d+)/.exec(address)
  if (m === null) throw new Error(`address "${address}" is not /ip4/<host>/tcp/<port>/…`)
  return { host: m[1], port: Number(m[2]) }
}
