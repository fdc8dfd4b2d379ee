import { StreamClosedError } from '../core/errors.ts'
import { SendWindow } from '../transports/memory/send-window.ts'
import { ConnectionResetError } from './errors.ts'
import type { Bytes, Channel, ChannelHandler } from '../core/transport.ts'
import type { SimNetwork } from './sim-network.ts'

/** What travels in a pipe: data, a window update (the remote read n bytes), the end of the data, a reset. */
export const DATA = 0
export const WINDOW = 1
export const FIN = 2
export const RST = 3

interface Packet {
  kind: number
  data: Bytes | undefined
  n: number
  departAtMs: number
  arriveAtMs: number
}

/**
 * One direction of a simulated connection: packets leave one at a time at
 * the link's bandwidth, arrive after its latency (plus jitter, never out of
 * order), each at a time on the network's clock. While the direction is
 * partitioned packets are held (TCP retransmits them after the heal) or,
 * once `dead`, dropped for good (the connection did not survive).
 */
export class Pipe {
  readonly fromNode: string
  readonly toNode: string
  readonly #net: SimNetwork
  readonly #to: SimChannel
  #queue: Packet[] = []
  #head = 0
  #timer: unknown
  #busyUntilMs = 0
  #lastArriveMs = 0
  #held = false
  dead = false

  constructor (net: SimNetwork, fromNode: string, toNode: string, to: SimChannel, held: boolean) {
    this.#net = net
    this.fromNode = fromNode
    this.toNode = toNode
    this.#to = to
    this.#held = held
  }

  get length (): number { return this.#queue.length - this.#head }

  push (kind: number, data: Bytes | undefined, n: number): void {
    if (this.dead) return
    const now = this.#net.clock.now()
    const link = this.#net.profile(this.fromNode, this.toNode)
    const departAtMs = Math.max(now, this.#busyUntilMs)
    if (kind === DATA) this.#busyUntilMs = departAtMs + n / link.bytesPerMs
    const arriveAtMs = Math.max(Math.max(now, this.#busyUntilMs) + link.latencyMs + link.jitterMs * this.#net.prng.float(), this.#lastArriveMs)
    this.#lastArriveMs = arriveAtMs
    this.#queue.push({ kind, data, n, departAtMs, arriveAtMs })
    this.#schedule()
  }

  /** Drop the data that has not left yet (a reset discards the socket's send buffer). */
  dropUndeparted (): void {
    const now = this.#net.clock.now()
    const kept: Packet[] = []
    for (let i = this.#head; i < this.#queue.length; i++) {
      const p = this.#queue[i]
      if (p.kind !== DATA || p.departAtMs <= now) kept.push(p)
    }
    this.#queue = kept
    this.#head = 0
    this.#busyUntilMs = Math.min(this.#busyUntilMs, now)
  }

  block (): void {
    this.#held = true
    this.#net.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** The partition healed: held packets flow again (arriving one latency from now at the earliest), or, `dead`, never. */
  unblock (dead: boolean): void {
    this.#held = false
    if (dead) {
      this.dead = true
      this.clear()
      return
    }
    const earliest = this.#net.clock.now() + this.#net.profile(this.fromNode, this.toNode).latencyMs
    for (let i = this.#head; i < this.#queue.length; i++) {
      const p = this.#queue[i]
      if (p.arriveAtMs < earliest) p.arriveAtMs = earliest
    }
    if (this.#lastArriveMs < earliest && this.length > 0) this.#lastArriveMs = earliest
    this.#schedule()
  }

  clear (): void {
    this.#queue = []
    this.#head = 0
    this.#net.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule (): void {
    if (this.#timer !== undefined || this.#held || this.length === 0) return
    this.#timer = this.#net.clock.setTimeout(this.#fire, Math.max(0, this.#queue[this.#head].arriveAtMs - this.#net.clock.now()))
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    const now = this.#net.clock.now()
    while (!this.#held && this.length > 0 && this.#queue[this.#head].arriveAtMs <= now) {
      const p = this.#queue[this.#head++]
      if (this.#head === this.#queue.length) {
        this.#queue = []
        this.#head = 0
      }
      this.#to.arrive(p.kind, p.data, p.n)
    }
    this.#schedule()
  }
}

/**
 * One end of a simulated connection, as the core sees a channel: `send`
 * returns false past the transport's window of unread bytes and `onDrain`
 * follows once the remote has read enough (the window update travels back
 * through the network too); `pause` stops reading, and so does a stalled
 * host; `abort` resets (the remote learns of it one latency later, unless
 * partitioned); `close` half-closes after the data.
 */
export class SimChannel implements Channel {
  readonly remoteIdentity: string
  /** The node label of this end's host. */
  readonly node: string
  readonly connectionId: number
  readonly #net: SimNetwork
  out!: Pipe
  peer!: SimChannel
  #handler?: ChannelHandler
  #read: Bytes[] = []
  #paused = false
  readonly #window: SendWindow
  #writeClosed = false
  #remoteEnded = false
  #endDelivered = false
  #closed = false
  #closeWaiters: Array<() => void> = []
  #deliverTimer: unknown

  constructor (net: SimNetwork, connectionId: number, node: string, remoteIdentity: string) {
    this.#net = net
    this.connectionId = connectionId
    this.node = node
    this.remoteIdentity = remoteIdentity
    this.#window = new SendWindow(net.windowBytes)
  }

  get closed (): boolean { return this.#closed }
  /** Bytes sent and not yet read by the remote end. */
  get unreadBytes (): number { return this.#window.unreadBytes }

  setHandler (handler: ChannelHandler): void {
    this.#handler = handler
    if (this.#deliverTimer === undefined && (this.#read.length > 0 || this.#remoteEnded)) {
      this.#deliverTimer = this.#net.clock.setTimeout(() => {
        this.#deliverTimer = undefined
        this.deliver()
      }, 0)
    }
  }

  send (data: Bytes): boolean {
    if (this.#closed || this.#writeClosed) throw new StreamClosedError('cannot send on a closed channel')
    const more = this.#window.sent(data.byteLength)
    this.#net.sent(this, data)
    return more
  }

  pause (): void {
    if (this.#closed) throw new StreamClosedError('cannot pause a closed channel')
    this.#paused = true
  }

  resume (): void {
    if (this.#closed) throw new StreamClosedError('cannot resume a closed channel')
    this.#paused = false
    this.deliver()
  }

  abort (err: Error): void {
    if (this.#closed) return
    this.#finish(err)
    this.out.dropUndeparted()
    this.out.push(RST, undefined, 0)
  }

  /** One connection per channel here: the same as `abort()`. */
  abortConnection (err: Error): void {
    this.abort(err)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    if (!this.#writeClosed) {
      this.#writeClosed = true
      this.out.push(FIN, undefined, 0)
      if (this.#endDelivered) {
        this.#finish()
        return
      }
    }
    if (this.#window.unreadBytes === 0) return
    await new Promise<void>(resolve => { this.#closeWaiters.push(resolve) })
  }

  /** The network reset the connection (a cut): this end learns it now. */
  reset (): void {
    this.#finish(new ConnectionResetError('the connection was reset'))
  }

  /** The host crashed: this end is gone without a word to its (dead) owner; the remote gets a reset, or, `silent`, nothing. */
  kill (silent: boolean): void {
    if (this.#closed) return
    this.#closed = true
    this.#read = []
    this.#net.clock.clearTimeout(this.#deliverTimer)
    this.#settleClose()
    if (silent) {
      this.out.dead = true
      this.out.clear()
    } else {
      this.out.dropUndeparted()
      this.out.push(RST, undefined, 0)
    }
    this.#net.closed(this)
  }

  /** A packet arrived from the remote end. */
  arrive (kind: number, data: Bytes | undefined, n: number): void {
    if (this.#closed) return
    if (kind === DATA) {
      this.#read.push(data as Bytes)
      this.deliver()
    } else if (kind === WINDOW) {
      if (this.#window.read(n)) {
        this.#settleClose()
        this.#handler?.onIdle()
      }
      if (!this.#closed && this.#window.takeDrain()) this.#handler?.onDrain()
    } else if (kind === FIN) {
      this.#remoteEnded = true
      this.deliver()
    } else {
      this.#finish(new ConnectionResetError('the remote end reset the connection'))
    }
  }

  /** Hand what was read to the handler, unless paused or the host is stalled; tell the remote how much was read. */
  deliver (): void {
    const handler = this.#handler
    if (handler === undefined || this.#paused || this.#net.isStalled(this.node)) return
    let n = 0
    while (!this.#closed && !this.#paused && this.#read.length > 0) {
      const data = this.#read.shift() as Bytes
      n += data.byteLength
      handler.onData(data)
    }
    if (this.#closed) return
    if (n > 0) this.out.push(WINDOW, undefined, n)
    if (this.#remoteEnded && this.#read.length === 0 && !this.#endDelivered && !this.#paused) {
      this.#endDelivered = true
      handler.onEnd()
      if (this.#writeClosed && !this.#closed) this.#finish()
    }
  }

  #settleClose (): void {
    const waiters = this.#closeWaiters
    this.#closeWaiters = []
    for (const w of waiters) w()
  }

  #finish (err?: Error): void {
    if (this.#closed) return
    this.#closed = true
    this.#read = []
    this.#net.clock.clearTimeout(this.#deliverTimer)
    this.#settleClose()
    this.#net.closed(this)
    this.#handler?.onClose(err)
  }
}
