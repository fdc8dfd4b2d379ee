import { InvalidAddressError, MissingPeerIdError } from '../core/errors.ts'
import { ConnectionRefusedError, IdentityMismatchError } from './errors.ts'
import type { Channel, DialOptions, Transport } from '../core/transport.ts'
import type { SimChannel } from './sim-channel.ts'
import type { SimClock } from './sim-clock.ts'
import type { SimHost, SimNetwork } from './sim-network.ts'

const ADDRESS = /^\/sim\/([^/]+)(?:\/p2p\/([^/]+))?$/

export interface SimTransportInit {
  network: SimNetwork
  /** The node this transport runs on (partitions, stalls and link profiles are per node). */
  node: string
  /** The host name others dial: `/sim/<host>/p2p/<identity>`. */
  host: string
  identity: string
  /** The clock of the node's life: a crash freezes it, and with it the dials in progress. */
  clock: SimClock
}

interface PendingDial {
  fail: (err: Error) => void
}

/**
 * The Transport of one node's life on the simulated network. A dial takes
 * a round trip of the link, hangs while the link is partitioned (until its
 * signal aborts), is refused where nothing listens and fails where another
 * identity answers; the identity an end reports is the one its transport
 * was created with, which nothing on the wire can change (as Noise or TLS
 * authenticate a key). One connection per channel.
 */
export class SimTransport implements Transport, SimHost {
  readonly localIdentity: string
  readonly node: string
  #host: string
  readonly #net: SimNetwork
  readonly #clock: SimClock
  readonly #channels = new Set<SimChannel>()
  readonly #dials = new Set<PendingDial>()
  #onInbound?: (channel: Channel) => void
  #stopped = false
  #crashed = false

  constructor (init: SimTransportInit) {
    this.#net = init.network
    this.node = init.node
    this.#host = init.host
    this.localIdentity = init.identity
    this.#clock = init.clock
  }

  get host (): string { return this.#host }
  get crashed (): boolean { return this.#crashed }

  parseAddress (address: string): string {
    const m = ADDRESS.exec(address)
    if (m === null) throw new InvalidAddressError(`address "${address}" is not a /sim/<host>/p2p/<identity> address`)
    if (m[2] === undefined) throw new MissingPeerIdError(`address "${address}" does not end in /p2p/<identity>`)
    return m[2]
  }

  listenAddresses (): string[] {
    return [`/sim/${this.#host}/p2p/${this.localIdentity}`]
  }

  async start (onInbound: (channel: Channel) => void): Promise<void> {
    if (this.#stopped || this.#crashed) throw new ConnectionRefusedError('transport stopped')
    this.#onInbound = onInbound
    this.#net.listen(this.#host, this)
  }

  accept (channel: SimChannel): void {
    if (this.#onInbound === undefined || this.#stopped || this.#crashed) {
      channel.abort(new ConnectionRefusedError('not listening'))
      return
    }
    this.#track(channel)
    this.#onInbound(channel)
  }

  /** Keep an end of this node's; those closed since are forgotten now and then. */
  #track (channel: SimChannel): void {
    if (this.#channels.size >= 64) {
      for (const c of this.#channels) if (c.closed) this.#channels.delete(c)
    }
    this.#channels.add(channel)
  }

  async dial (address: string, options: DialOptions): Promise<Channel> {
    const signal = options.signal
    signal.throwIfAborted()
    if (this.#stopped || this.#crashed) throw new ConnectionRefusedError('transport stopped')
    const identity = this.parseAddress(address)
    const host = (ADDRESS.exec(address) as RegExpExecArray)[1]
    const first = this.#net.lookup(host)
    const rttMs = first === undefined ? 2 : 2 * this.#net.profile(this.node, first.node).latencyMs + 0.05
    await this.#wait(signal, rttMs)
    const target = this.#net.lookup(host)
    if (target !== undefined && (this.#net.isBlocked(this.node, target.node) || this.#net.isBlocked(target.node, this.node))) {
      // no answer across a partition: the dial hangs until its timeout
      await this.#wait(signal, Number.POSITIVE_INFINITY)
    }
    if (this.#stopped || this.#crashed) throw new ConnectionRefusedError('transport stopped')
    if (target === undefined) throw new ConnectionRefusedError(`nothing listens at sim host "${host}"`)
    if (target.localIdentity !== identity) throw new IdentityMismatchError(`node at "${host}" is ${target.localIdentity}, not ${identity}`)
    const [mine, theirs] = this.#net.connect(this, target)
    this.#track(mine)
    target.accept(theirs)
    return mine
  }

  /** Resolve after `ms` of this node's clock (never, if it is frozen); reject when `signal` aborts or the transport stops. */
  async #wait (signal: AbortSignal, ms: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const dial: PendingDial = {
        fail: (err) => {
          this.#clock.clearTimeout(timer)
          signal.removeEventListener('abort', onAbort)
          this.#dials.delete(dial)
          reject(err)
        }
      }
      const onAbort = (): void => { dial.fail(signal.reason as Error) }
      const timer = Number.isFinite(ms)
        ? this.#clock.setTimeout(() => {
          signal.removeEventListener('abort', onAbort)
          this.#dials.delete(dial)
          resolve()
        }, ms)
        : undefined
      this.#dials.add(dial)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  async disconnect (identity: string): Promise<void> {
    for (const c of [...this.#channels]) {
      if (c.remoteIdentity === identity) c.abort(new ConnectionRefusedError('disconnected'))
    }
  }

  /** Listen at another host name from now on (the node's address changed); open connections stay. */
  rehost (host: string): void {
    this.#net.unlisten(this.#host, this)
    this.#host = host
    if (!this.#stopped && !this.#crashed) this.#net.listen(host, this)
  }

  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#net.unlisten(this.#host, this)
    for (const d of [...this.#dials]) d.fail(new ConnectionRefusedError('transport stopped'))
    for (const c of [...this.#channels]) c.abort(new ConnectionRefusedError('transport stopped'))
    this.#channels.clear()
  }

  /** The node's process died: every end goes without a word to the core; peers see resets, or, `silent`, nothing. */
  crash (silent: boolean): void {
    if (this.#crashed) return
    this.#crashed = true
    this.#net.unlisten(this.#host, this)
    this.#dials.clear()
    for (const c of this.#channels) c.kill(silent)
    this.#channels.clear()
  }
}
