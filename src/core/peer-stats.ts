/** Counters and state the module reports per peer; the service's GetStatus maps these. */

import type { DispatcherCounters } from './dispatcher.ts'
import type { Member } from './membership.ts'

export type LinkState = 'connecting' | 'open' | 'backoff' | 'closed' | 'local'

/** What `send()` did for one destination. */
export type SendOutcome = 'queued' | 'dropped-oldest' | 'unknown-destination'

export interface SendCounters {
  /** Messages waiting in the queue now. */
  queued: number
  queuedBytes: number
  /** Messages handed to the connection (or, for the own node, to the inbox). */
  sentMessages: number
  sentBytes: number
  /** Oldest messages dropped because the queue was full. */
  droppedMessages: number
  droppedBytes: number
  /** Written messages the receiving node acknowledged (took into its inbox or tentative hold). */
  acknowledgedMessages: number
  /**
   * Written messages that did not arrive: the connection broke first. Exact
   * once the receiver answers the next stream's hello; if it restarted in
   * between (and cannot say), every unconfirmed message counts here.
   */
  lostInFlightMessages: number
  /** Written messages not yet acknowledged nor known lost (sent = acknowledged + lost + unconfirmed). */
  unconfirmedMessages: number
  /** Messages still queued when the peer was removed or the module closed. */
  discardedMessages: number
  /** Messages written again on a new connection (not counted again in `sentMessages`). */
  resentMessages: number
}

/** The counters of one lane to and from one member. */
export interface LaneStats extends SendCounters {
  /** Lane name. */
  lane: string
  receivedMessages: number
  receivedBytes: number
  /** Messages received again (a resend of what had arrived) and dropped by sequence number. */
  duplicateMessages: number
}

export interface PeerStats extends SendCounters {
  nodeId: string
  address: string
  /** The identity the transport authenticates this peer by (libp2p peer id). */
  identity: string
  state: LinkState
  /** Whether an inbound stream from this peer is open. */
  inboundOpen: boolean
  receivedMessages: number
  receivedBytes: number
  /** Per lane, in lane order; the fields above are their sums. */
  lanes: LaneStats[]
  /** Connections re-established after a failure or an address change. */
  reconnects: number
  lastError?: string
}

export interface TentativeStats {
  identity: string
  /** Messages held for delivery if the peer joins the membership. */
  heldMessages: number
  heldBytes: number
  /** Older held messages dropped to keep the most recent. */
  droppedMessages: number
  receivedMessages: number
  createdAtMs: number
}

/** Messages tentative receivers lost over the module's life, receivers gone since included. */
export interface TentativeLosses {
  /** Older held messages dropped to keep the most recent within a receiver's bounds. */
  droppedMessages: number
  /** Held messages discarded with receivers evicted to stay within the cap. */
  evictedMessages: number
  /** Held messages discarded because the stream (or the module) closed before the peer became a member. */
  closedMessages: number
}

export interface NetworkStats {
  nodeId: string
  identity: string
  peers: PeerStats[]
  tentative: TentativeStats[]
  /** Tentative receivers closed to stay within the cap. */
  tentativeEvicted: number
  tentativeLosses: TentativeLosses
  /** Members with an open outbound connection, the own node included. */
  connected: number
  inbox: { messages: number, bytes: number, delivered: number, lanes: Array<{ lane: string, messages: number, bytes: number }> }
}

/**
 * What this node received from one peer, kept across its streams: counts
 * per lane, and where its sender's sequence stands: the incarnation last
 * seen in a hello and, per lane, the sequence number of the next message
 * expected (every message below it was taken).
 */
export class ReceiveCounters {
  messages = 0
  bytes = 0
  incarnation: string | undefined
  readonly next: number[]
  readonly laneMessages: number[]
  readonly laneBytes: number[]
  /** Messages the sender still held for resending that had already arrived: not sent again. */
  readonly duplicates: number[]

  constructor (lanes: number) {
    this.next = new Array<number>(lanes).fill(0)
    this.laneMessages = new Array<number>(lanes).fill(0)
    this.laneBytes = new Array<number>(lanes).fill(0)
    this.duplicates = new Array<number>(lanes).fill(0)
  }

  /** A message of `bytes` taken on `lane`. */
  took (lane: number, bytes: number): void {
    this.messages++
    this.bytes += bytes
    this.laneMessages[lane]++
    this.laneBytes[lane] += bytes
    this.next[lane]++
  }

  /** Add another's counts; its sequence state, if it saw a hello, is the more recent. */
  add (other: ReceiveCounters): void {
    this.messages += other.messages
    this.bytes += other.bytes
    for (let i = 0; i < this.next.length; i++) {
      this.laneMessages[i] += other.laneMessages[i]
      this.laneBytes[i] += other.laneBytes[i]
      this.duplicates[i] += other.duplicates[i]
    }
    if (other.incarnation !== undefined) {
      this.incarnation = other.incarnation
      for (let i = 0; i < this.next.length; i++) this.next[i] = other.next[i]
    }
  }
}

/** A member's stats from its sender's counters and what its receivers took (pure). */
export function memberStats (
  member: Member,
  counters: DispatcherCounters,
  received: ReceiveCounters,
  inboundOpen: boolean,
  lanes: ReadonlyArray<{ name: string }>
): PeerStats {
  const { lanes: laneCounters, ...c } = counters
  return {
    ...c,
    lanes: laneCounters.map((lc, i): LaneStats => ({
      ...lc,
      lane: lanes[i].name,
      receivedMessages: received.laneMessages[i],
      receivedBytes: received.laneBytes[i],
      duplicateMessages: received.duplicates[i]
    })),
    nodeId: member.nodeId,
    address: member.address,
    identity: member.identity,
    inboundOpen,
    receivedMessages: received.messages,
    receivedBytes: received.bytes
  }
}
