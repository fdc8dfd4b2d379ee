import { InvalidAddressError, MissingPeerIdError } from '../../core/errors.ts'
import { createChannelPair } from './memory-channel.ts'
import type { Channel, DialOptions, Transport } from '../../core/transport.ts'
import type { MemoryChannel } from './memory-channel.ts'

/** Nothing listens at the dialed host. */
export class ConnectionRefusedError extends Error {
  override name = 'ConnectionRefusedError'
}

/** The node at the dialed host has another identity than the address names. */
export class IdentityMismatchError extends Error {
  override name = 'IdentityMismatchError'
}

const ADDRESS = /^\/memory\/([^/]+)(?:\/p2p\/([^/]+))?$/

/** The hosts of in-memory transports, by name. One per test. */
export class MemoryNetwork {
  readonly #hosts = new Map<string, MemoryTransport>()
  readonly #cuts = new Set<string>()

  listen (host: string, transport: MemoryTransport): void {
    if (this.#hosts.has(host)) throw new Error(`memory host "${host}" is already listening`)
    this.#hosts.set(host, transport)
  }

  unlisten (host: string, transport: MemoryTransport): void {
    if (this.#hosts.get(host) === transport) this.#hosts.delete(host)
  }

  lookup (host: string): MemoryTransport | undefined {
    return this.#hosts.get(host)
  }

  /**
   * Cut the path between two hosts, as a pulled cable would: open channels
   * between them go silent in both directions (no data, no close, no reset)
   * and dials hang until their signal aborts. Until `heal()`.
   */
  cut (a: string, b: string): void {
    this.#cuts.add(pairKey(a, b))
    this.lookup(a)?.blackhole(b)
    this.lookup(b)?.blackhole(a)
  }

  /**
   * Drop what `from` sends to `to` (a one-way partition): open channels from
   * `from` go silent in that direction only, and dials between them hang.
   */
  cutOneWay (from: string, to: string): void {
    this.#cuts.add(pairKey(from, to))
    this.lookup(from)?.blackhole(to)
  }

  /** New channels between the hosts work again; those cut stay silent, as dead TCP connections do. */
  heal (a: string, b: string): void {
    this.#cuts.delete(pairKey(a, b))
  }

  isCut (a: string, b: string): boolean {
    return this.#cuts.has(pairKey(a, b))
  }
}

function pairKey (a: string, b: string): string {
  return a < b ? `${a}\n${b}` : `${b}\n${a}`
}

export interface MemoryTransportInit {
  network: MemoryNetwork
  /** Name other nodes dial: `/memory/<host>/p2p/<identity>`. */
  host: string
  identity: string
  /** Bytes in flight per channel before `send()` returns false. @default 256 KiB */
  windowBytes?: number
}

/**
 * A transport inside one process, for fast tests of the core: addresses are
 * `/memory/<host>/p2p/<identity>`, identity is checked on dial as Noise would,
 * and channels have real flow control (see MemoryChannel).
 */
export class MemoryTransport implements Transport {
  readonly localIdentity: string
  readonly host: string
  readonly #network: MemoryNetwork
  readonly #windowBytes: number
  /** Open channels and the host at their other end. */
  readonly #channels = new Map<MemoryChannel, string>()
  #onInbound?: (channel: Channel) => void
  #stopped = false

  constructor (init: MemoryTransportInit) {
    this.#network = init.network
    this.host = init.host
    this.localIdentity = init.identity
    this.#windowBytes = init.windowBytes ?? 256 * 1024
  }

  parseAddress (address: string): string {
    const m = ADDRESS.exec(address)
    if (m === null) throw new InvalidAddressError(`address "${address}" is not a /memory/<host>/p2p/<identity> address`)
    if (m[2] === undefined) throw new MissingPeerIdError(`address "${address}" does not end in /p2p/<identity>`)
    return m[2]
  }

  listenAddresses (): string[] {
    return [`/memory/${this.host}/p2p/${this.localIdentity}`]
  }

  async start (onInbound: (channel: Channel) => void): Promise<void> {
    this.#onInbound = onInbound
    this.#network.listen(this.host, this)
  }

  async dial (address: string, options: DialOptions): Promise<Channel> {
    options.signal.throwIfAborted()
    if (this.#stopped) throw new ConnectionRefusedError('transport stopped')
    const identity = this.parseAddress(address)
    const host = (ADDRESS.exec(address) as RegExpExecArray)[1]
    // a connection takes a turn of the event loop, as a real one takes more
    await new Promise(resolve => setImmediate(resolve))
    options.signal.throwIfAborted()
    if (this.#network.isCut(this.host, host)) {
      // no answer across a cut: the dial hangs until it times out
      await new Promise((resolve) => { options.signal.addEventListener('abort', resolve, { once: true }) })
      options.signal.throwIfAborted()
    }
    const target = this.#network.lookup(host)
    if (target === undefined || target.#onInbound === undefined) {
      throw new ConnectionRefusedError(`nothing listens at memory host "${host}"`)
    }
    if (target.localIdentity !== identity) {
      throw new IdentityMismatchError(`node at "${host}" is ${target.localIdentity}, not ${identity}`)
    }
    const [mine, theirs] = createChannelPair(
      { identity: this.localIdentity, onClosed: c => this.#channels.delete(c) },
      { identity: target.localIdentity, onClosed: c => target.#channels.delete(c) },
      this.#windowBytes
    )
    this.#channels.set(mine, host)
    target.#channels.set(theirs, this.host)
    target.#onInbound(theirs)
    return mine
  }

  /** Silence the open channels to `host` (see MemoryNetwork.cut). */
  blackhole (host: string): void {
    for (const [c, remote] of this.#channels) {
      if (remote === host) c.blackhole = true
    }
  }

  async disconnect (identity: string): Promise<void> {
    for (const c of [...this.#channels.keys()]) {
      if (c.remoteIdentity === identity) c.abort(new ConnectionRefusedError('disconnected'))
    }
  }

  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#network.unlisten(this.host, this)
    for (const c of [...this.#channels.keys()]) c.abort(new ConnectionRefusedError('transport stopped'))
  }
}
