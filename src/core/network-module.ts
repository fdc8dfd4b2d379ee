import { systemClock } from './clock.ts'
import { ConnectionWaiters } from './connection-waiters.ts'
import { resolveConfig } from './config.ts'
import { Dispatcher } from './dispatcher.ts'
import { AbortError, ModuleClosedError, PayloadTooLargeError, StreamClosedError, UnknownDestinationError, UnknownLaneError } from './errors.ts'
import { Inbox } from './inbox.ts'
import { ALL_LANES, laneNumber } from './lanes.ts'
import { LocalDispatcher } from './local-dispatcher.ts'
import { silentLogger } from './logger.ts'
import { parseMembership } from './membership.ts'
import { ReceiveCounters, memberStats } from './peer-stats.ts'
import { Receiver } from './receiver.ts'
import { TentativePool } from './tentative-pool.ts'
import { Ticker } from './ticker.ts'
import type { NetworkModuleConfig, NetworkModuleInit } from './config.ts'
import type { ReceivedMessage } from './inbox.ts'
import type { Clock } from './clock.ts'
import type { Logger } from './logger.ts'
import type { MemberSender } from './member-sender.ts'
import type { Member, MemberSpec } from './membership.ts'
import type { LinkState, NetworkStats, PeerStats, SendOutcome } from './peer-stats.ts'
import type { Channel, Transport } from './transport.ts'

export interface NetworkModuleComponents {
  transport: Transport
  logger?: Logger
  /** Time for every timer and clock read of the module and its components; the system clock when not given. */
  clock?: Clock
  /** Random numbers in [0, 1) for reconnect jitter and the senders' incarnations; Math.random and the system's CSPRNG when not given. */
  random?: () => number
}

export interface NetworkModuleOptions extends NetworkModuleInit {
  /** This node's id; it is always a member. */
  nodeId: string
}

/** What a `connect()` changed. */
export interface MembershipChange {
  added: string[]
  removed: string[]
  /** Members whose address changed (they are redialed). */
  changed: string[]
}

interface PeerEntry {
  member: Member
  dispatcher: MemberSender
  receiver?: Receiver
  received: ReceiveCounters
}

/** Detail of the `peer-state` event: a remote member's outbound link changed state. */
export interface PeerStateDetail {
  nodeId: string
  state: LinkState
}

/**
 * The networking module: keeps one Dispatcher per member, one Receiver per
 * member's inbound stream, and a bounded pool of tentative receivers for
 * peers not (yet) members, over any {@link Transport}.
 *
 * Delivery is at most once and FIFO per sender while a connection lives;
 * messages are lost only where counted: a full sender queue drops its oldest,
 * a broken connection loses what was in flight.
 *
 * Events: `peer-state` (`CustomEvent<PeerStateDetail>`) when a member's
 * outbound link changes state (connecting, open, backoff, closed).
 */
export class NetworkModule extends EventTarget {
  readonly nodeId: string
  readonly config: NetworkModuleConfig
  /** Received messages, in arrival order, for consumers (see {@link messages}). */
  readonly inbox: Inbox
  readonly #transport: Transport
  readonly #baseLog: Logger
  readonly #log: Logger
  readonly #peers = new Map<string, PeerEntry>()
  readonly #nodeByIdentity = new Map<string, string>()
  readonly #tentative: TentativePool
  /** One timer for the keepalive checks of all links. */
  readonly #keepaliveTicker: Ticker
  readonly #clock: Clock
  readonly #random: (() => number) | undefined
  readonly #waiters = new ConnectionWaiters()
  /** Dispatchers of removed members, still closing. */
  readonly #retiring = new Set<Promise<void>>()
  #started = false
  #closing?: Promise<void>

  constructor (components: NetworkModuleComponents, options: NetworkModuleOptions) {
    super()
    if (typeof options.nodeId !== 'string' || options.nodeId.length === 0) {
      throw new TypeError('nodeId must be a non-empty string')
    }
    this.nodeId = options.nodeId
    this.config = resolveConfig(options)
    this.#transport = components.transport
    // every component's logger is a child of the one given, never of another component's: pino repeats a re-bound key
    this.#baseLog = components.logger ?? silentLogger
    this.#log = this.#baseLog.child({ component: 'network' })
    this.inbox = new Inbox({
      capacity: this.config.inboxCapacity,
      maxBytes: this.config.inboxMaxBytes,
      lanes: this.config.lanes,
      quantumBytes: this.config.chunkBytes,
      targetMs: this.config.inboxTargetMs,
      minCredit: this.config.inboxMinCredit,
      clock: components.clock
    })
    this.#clock = components.clock ?? systemClock
    this.#random = components.random
    this.#keepaliveTicker = new Ticker(Math.max(10, Math.floor(this.config.keepaliveTimeoutMs / 3)), this.#clock)
    this.#tentative = new TentativePool(this.config.tentativeMaxReceivers, this.#baseLog.child({ component: 'tentative' }))
  }

  /** The identity this node authenticates as (libp2p peer id). */
  get identity (): string { return this.#transport.localIdentity }

  /** Addresses other nodes can put in their membership for this node. */
  listenAddresses (): string[] { return this.#transport.listenAddresses() }

  /** Start accepting inbound streams. The own node becomes a member. */
  async start (): Promise<void> {
    if (this.#closing !== undefined) throw new ModuleClosedError()
    if (this.#started) return
    this.#started = true
    await this.#transport.start(this.#onInbound)
    const address = this.#transport.listenAddresses()[0] ?? ''
    this.#addMember({ nodeId: this.nodeId, address, identity: this.identity })
  }

  /**
   * Make `specs` the current membership. Validates the whole list first
   * (throwing a named `MembershipError`, with nothing applied); then adds
   * Dispatchers for new members (promoting their tentative receivers),
   * redials members whose address changed, and closes both directions of
   * members no longer listed. Idempotent. The own node stays a member
   * whether listed or not.
   */
  connect (specs: readonly MemberSpec[]): MembershipChange {
    this.#assertOpen()
    const next = parseMembership(specs, address => this.#transport.parseAddress(address), { nodeId: this.nodeId, identity: this.identity })
    const change: MembershipChange = { added: [], removed: [], changed: [] }
    for (const [nodeId, entry] of this.#peers) {
      if (nodeId !== this.nodeId && !next.has(nodeId)) {
        this.#removeMember(entry)
        change.removed.push(nodeId)
      }
    }
    // identities freed by removals first, so that a swap of addresses between ids works
    for (const member of next.values()) {
      const entry = this.#peers.get(member.nodeId)
      if (entry !== undefined && member.nodeId !== this.nodeId && entry.member.identity !== member.identity) {
        this.#nodeByIdentity.delete(entry.member.identity)
        entry.receiver?.close(new StreamClosedError(`node "${member.nodeId}" now has another peer id`))
        entry.receiver = undefined
      }
    }
    for (const member of next.values()) {
      if (member.nodeId === this.nodeId) continue
      const entry = this.#peers.get(member.nodeId)
      if (entry === undefined) {
        this.#addMember(member)
        change.added.push(member.nodeId)
      } else if (entry.member.address !== member.address || entry.member.identity !== member.identity) {
        const identityChanged = entry.member.identity !== member.identity
        entry.member = member
        if (identityChanged) {
          this.#nodeByIdentity.set(member.identity, member.nodeId)
          this.#promote(entry)
        }
        entry.dispatcher.setAddress(member.address)
        change.changed.push(member.nodeId)
      }
    }
    if (change.added.length + change.removed.length + change.changed.length > 0) {
      this.#log.info({ ...change }, 'membership applied')
    }
    this.#checkWaiters()
    return change
  }

  /** The node ids of the current members, the own node included. */
  members (): string[] {
    return [...this.#peers.keys()]
  }

  isMember (nodeId: string): boolean {
    return this.#peers.has(nodeId)
  }

  /** The number of the lane called `name` ('' is the default lane). Throws `UnknownLaneError`. */
  laneNumber (name: string): number {
    return laneNumber(this.config.lanes, name, this.config.defaultLane)
  }

  /**
   * Queue `payload` for one destination on `lane` (a lane number, the
   * default lane if not given). Never blocks; returns what happened.
   * The module owns `payload` from now on: do not modify it.
   * Throws `PayloadTooLargeError` above `maxFrameBytes`, `UnknownLaneError`.
   */
  sendTo (destination: string, payload: Uint8Array, lane = this.config.defaultLane): SendOutcome {
    if (payload.byteLength > this.config.maxFrameBytes) throw new PayloadTooLargeError(payload.byteLength, this.config.maxFrameBytes)
    if (this.#closing !== undefined) throw new ModuleClosedError()
    if (!(lane >= 0 && lane < this.config.lanes.length && Number.isInteger(lane))) throw new UnknownLaneError(String(lane), this.config.lanes.map(l => l.name))
    const entry = this.#peers.get(destination)
    if (entry === undefined) return 'unknown-destination'
    return entry.dispatcher.enqueue(payload, lane)
  }

  /**
   * Queue `payload` for each destination on `lane`, with one outcome per
   * destination. Unknown destinations get `unknown-destination`; the others
   * are queued.
   */
  send (destinations: readonly string[], payload: Uint8Array, lane = this.config.defaultLane): SendOutcome[] {
    if (payload.byteLength > this.config.maxFrameBytes) throw new PayloadTooLargeError(payload.byteLength, this.config.maxFrameBytes)
    return destinations.map(d => this.sendTo(d, payload, lane))
  }

  /** Throws `UnknownDestinationError` naming the first destination that is not a member. */
  assertMembers (destinations: Iterable<string>): void {
    for (const d of destinations) {
      if (!this.#peers.has(d)) throw new UnknownDestinationError(d)
    }
  }

  /**
   * Received messages one by one, FIFO per sender and lane, of the lanes in
   * `laneMask` (all by default), until the module closes or `signal` aborts.
   */
  messages (options: { signal?: AbortSignal, laneMask?: number } = {}): AsyncGenerator<ReceivedMessage, void, undefined> {
    return this.inbox.messages(options.signal, options.laneMask ?? ALL_LANES)
  }

  /** Members with an open outbound connection, the own node included. */
  connectedCount (): number {
    let n = 0
    for (const entry of this.#peers.values()) {
      if (entry.dispatcher.isOpen) n++
    }
    return n
  }

  /**
   * Resolves when at least `count` members are connected (the own node
   * counts). Rejects with `ModuleClosedError` on close, `AbortError` on abort.
   */
  async waitFor (count: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options
    if (signal?.aborted === true) throw new AbortError()
    if (this.#closing !== undefined) throw new ModuleClosedError()
    if (this.connectedCount() >= count) return
    await this.#waiters.wait(count, signal)
  }

  /** One member's stats, or undefined for a node that is not a member. */
  peerStats (nodeId: string): PeerStats | undefined {
    const entry = this.#peers.get(nodeId)
    return entry === undefined ? undefined : this.#peerStats(entry)
  }

  #peerStats (entry: PeerEntry): PeerStats {
    const { member, receiver } = entry
    return memberStats(member, entry.dispatcher.counters(), entry.received, receiver !== undefined && !receiver.closed, this.config.lanes)
  }

  stats (): NetworkStats {
    const peers: PeerStats[] = []
    for (const entry of this.#peers.values()) peers.push(this.#peerStats(entry))
    return {
      nodeId: this.nodeId,
      identity: this.identity,
      peers,
      tentative: this.#tentative.stats(),
      tentativeEvicted: this.#tentative.evicted,
      tentativeLosses: this.#tentative.losses(),
      connected: this.connectedCount(),
      inbox: {
        messages: this.inbox.length,
        bytes: this.inbox.byteLength,
        delivered: this.inbox.delivered,
        lanes: this.config.lanes.map((l, i) => ({ lane: l.name, messages: this.inbox.laneLength(i), bytes: this.inbox.laneBytes(i) }))
      }
    }
  }

  /** Close every dispatcher, receiver and the transport; end consumers. Idempotent. */
  async close (): Promise<void> {
    this.#closing ??= this.#close()
    await this.#closing
  }

  async #close (): Promise<void> {
    const reason = new ModuleClosedError()
    this.#waiters.rejectAll(reason)
    const entries = [...this.#peers.values()]
    await Promise.all([...entries.map(async e => { await e.dispatcher.close() }), ...this.#retiring])
    for (const e of entries) e.receiver?.close(reason)
    this.#tentative.closeAll(reason)
    this.inbox.close()
    await this.#transport.stop()
    this.#log.info({}, 'closed')
  }

  #assertOpen (): void {
    if (this.#closing !== undefined) throw new ModuleClosedError()
    if (!this.#started) throw new ModuleClosedError('the network module is not started')
  }

  #addMember (member: Member): void {
    const isSelf = member.nodeId === this.nodeId
    const dispatcher = isSelf
      ? new LocalDispatcher(this.inbox, { nodeId: member.nodeId, address: member.address, lanes: this.config.lanes })
      : new Dispatcher({
        transport: this.#transport,
        logger: this.#baseLog.child({ component: 'dispatcher', peer: member.nodeId }),
        onStateChange: this.#onPeerState,
        keepaliveTicker: this.#keepaliveTicker,
        clock: this.#clock,
        random: this.#random
      }, { ...this.config, nodeId: member.nodeId, address: member.address, yieldFirstDial: member.identity < this.identity })
    const entry: PeerEntry = { member, dispatcher, received: new ReceiveCounters(this.config.lanes.length) }
    this.#peers.set(member.nodeId, entry)
    this.#nodeByIdentity.set(member.identity, member.nodeId)
    if (!isSelf) this.#promote(entry)
  }

  #promote (entry: PeerEntry): void {
    const tentative = this.#tentative.take(entry.member.identity)
    if (tentative === undefined) return
    entry.receiver = tentative
    tentative.promote(entry.member.nodeId, entry.received, this.#receiverLog(entry.member.nodeId, tentative.identity))
    entry.dispatcher.peerDialed()
  }

  #removeMember (entry: PeerEntry): void {
    const { nodeId, identity } = entry.member
    this.#peers.delete(nodeId)
    this.#nodeByIdentity.delete(identity)
    const closing = entry.dispatcher.close()
      .catch((err: unknown) => { this.#log.error({ peer: nodeId, err: String(err) }, 'closing dispatcher failed') })
      .finally(() => this.#retiring.delete(closing))
    this.#retiring.add(closing)
    entry.receiver?.close(new StreamClosedError(`node "${nodeId}" was removed from the membership`))
    entry.receiver = undefined
    this.#transport.disconnect(identity).catch((err: unknown) => {
      this.#log.warn({ peer: nodeId, err: String(err) }, 'disconnecting a removed member failed')
    })
    this.#log.info({ peer: nodeId }, 'member removed')
  }

  readonly #onInbound = (channel: Channel): void => {
    if (this.#closing !== undefined) {
      channel.abort(new ModuleClosedError())
      return
    }
    const identity = channel.remoteIdentity
    const nodeId = this.#nodeByIdentity.get(identity)
    const components = {
      inbox: this.inbox,
      logger: nodeId === undefined ? this.#baseLog.child({ component: 'tentative', identity }) : this.#receiverLog(nodeId, identity),
      clock: this.#clock,
      onClose: this.#onReceiverClosed
    }
    if (nodeId === undefined) {
      this.#tentative.add(new Receiver(components, this.config, channel))
      return
    }
    if (nodeId === this.nodeId) {
      channel.abort(new StreamClosedError('a stream from this node to itself is not used'))
      return
    }
    const entry = this.#peers.get(nodeId) as PeerEntry
    const previous = entry.receiver
    entry.receiver = new Receiver(components, this.config, channel, { nodeId, counters: entry.received })
    entry.dispatcher.peerDialed()
    // the peer redialed: its older stream is dead or about to be
    previous?.close(new StreamClosedError('replaced by a newer stream from the same peer'))
  }

  #receiverLog (nodeId: string, identity: string): Logger {
    return this.#baseLog.child({ component: 'receiver', peer: nodeId, identity })
  }

  readonly #onReceiverClosed = (receiver: Receiver): void => {
    const nodeId = receiver.nodeId
    if (nodeId === undefined) {
      this.#tentative.remove(receiver)
      return
    }
    const entry = this.#peers.get(nodeId)
    if (entry?.receiver === receiver) entry.receiver = undefined
  }

  readonly #onPeerState = (nodeId: string, state: LinkState): void => {
    this.#checkWaiters()
    this.dispatchEvent(new CustomEvent<PeerStateDetail>('peer-state', { detail: { nodeId, state } }))
  }

  readonly #checkWaiters = (): void => {
    if (this.#waiters.size > 0) this.#waiters.settle(this.connectedCount())
  }
}
