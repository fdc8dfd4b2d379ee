import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import { RpcMetrics } from './rpc-metrics.ts'
import type { ServiceCounters } from './status.ts'
import type { LaneStats, LinkState, NetworkStats, PeerStats } from '../core/peer-stats.ts'

export interface MetricsSources {
  /** The network module's counters (`NetworkModule.stats()`), read at each scrape. */
  stats: () => NetworkStats
  /** The API's own counters, read at each scrape. */
  service: Readonly<ServiceCounters>
}

type Emit = (labels: Record<string, string>, value: number) => void

interface Definition {
  name: string
  help: string
  type: 'counter' | 'gauge'
  labelNames?: string[]
  /** Emit every series from one scrape's stats. */
  fill: (stats: NetworkStats, service: Readonly<ServiceCounters>, emit: Emit) => void
}

/** Label value of a member: its node id. Members only; tentative peers are summed in the `mirnet_tentative_*` series. */
const NODE = 'node_id'

const STATES: LinkState[] = ['connecting', 'open', 'backoff', 'closed', 'local']

/** Why messages to a member were lost, as the `reason` label, and where the count is. */
const DROP_REASONS: Array<[string, (p: PeerStats) => number]> = [
  ['queue_overflow', p => p.droppedMessages],
  ['in_flight_lost', p => p.lostInFlightMessages],
  ['discarded', p => p.discardedMessages]
]

function perPeer (value: (p: PeerStats) => number): Definition['fill'] {
  return (stats, _service, emit) => {
    for (const p of stats.peers) emit({ [NODE]: p.nodeId }, value(p))
  }
}

/** Label value of a lane: its name. */
const LANE = 'lane'

function perLane (value: (l: LaneStats) => number): Definition['fill'] {
  return (stats, _service, emit) => {
    for (const p of stats.peers) {
      for (const l of p.lanes) emit({ [NODE]: p.nodeId, [LANE]: l.lane }, value(l))
    }
  }
}

function single (value: (stats: NetworkStats, service: Readonly<ServiceCounters>) => number): Definition['fill'] {
  return (stats, service, emit) => { emit({}, value(stats, service)) }
}

/**
 * Every series mirnet exports besides the RPC histogram and the process
 * metrics. Each reads the counters the core and the service keep for
 * GetStatus; nothing is counted twice.
 */
const DEFINITIONS: Definition[] = [
  { name: 'mirnet_info', type: 'gauge', labelNames: ['node_id', 'peer_id'], help: 'This node: its node id and libp2p peer id (value 1)', fill: (s, _c, emit) => { emit({ node_id: s.nodeId, peer_id: s.identity }, 1) } },
  { name: 'mirnet_members', type: 'gauge', help: 'Members in the membership, this node included', fill: single(s => s.peers.length) },
  { name: 'mirnet_connected_members', type: 'gauge', help: 'Members with an open outbound connection, this node included', fill: single(s => s.connected) },
  { name: 'mirnet_peer_sent_messages_total', type: 'counter', labelNames: [NODE], help: 'Messages to a member handed to its connection (to this node: to the inbox)', fill: perPeer(p => p.sentMessages) },
  { name: 'mirnet_peer_sent_bytes_total', type: 'counter', labelNames: [NODE], help: 'Payload bytes to a member handed to its connection', fill: perPeer(p => p.sentBytes) },
  { name: 'mirnet_peer_received_messages_total', type: 'counter', labelNames: [NODE], help: 'Messages received from a member (while tentative included)', fill: perPeer(p => p.receivedMessages) },
  { name: 'mirnet_peer_received_bytes_total', type: 'counter', labelNames: [NODE], help: 'Payload bytes received from a member', fill: perPeer(p => p.receivedBytes) },
  {
    name: 'mirnet_peer_dropped_messages_total',
    type: 'counter',
    labelNames: [NODE, 'reason'],
    help: 'Messages to a member that were lost, by reason: queue_overflow (oldest dropped from a full queue), in_flight_lost (written to a connection that broke before the member took them), discarded (still queued when the member was removed or the daemon stopped)',
    fill: (s, _c, emit) => {
      for (const p of s.peers) {
        for (const [reason, value] of DROP_REASONS) emit({ [NODE]: p.nodeId, reason }, value(p))
      }
    }
  },
  { name: 'mirnet_peer_acknowledged_messages_total', type: 'counter', labelNames: [NODE], help: 'Messages to a member that its node acknowledged (took into its inbox or tentative hold)', fill: perPeer(p => p.acknowledgedMessages) },
  { name: 'mirnet_peer_unconfirmed_messages', type: 'gauge', labelNames: [NODE], help: 'Messages written to a member neither acknowledged nor known lost yet (sent = acknowledged + in_flight_lost + unconfirmed)', fill: perPeer(p => p.unconfirmedMessages) },
  { name: 'mirnet_peer_dropped_bytes_total', type: 'counter', labelNames: [NODE, 'reason'], help: 'Payload bytes to a member dropped from its full queue (reason queue_overflow)', fill: (s, _c, emit) => { for (const p of s.peers) emit({ [NODE]: p.nodeId, reason: 'queue_overflow' }, p.droppedBytes) } },
  { name: 'mirnet_peer_queued_messages', type: 'gauge', labelNames: [NODE], help: 'Messages waiting in a member\'s send queue', fill: perPeer(p => p.queued) },
  { name: 'mirnet_peer_queued_bytes', type: 'gauge', labelNames: [NODE], help: 'Payload bytes waiting in a member\'s send queue', fill: perPeer(p => p.queuedBytes) },
  {
    name: 'mirnet_peer_connection_state',
    type: 'gauge',
    labelNames: [NODE, 'state'],
    help: 'Outbound link state of a member: 1 for the current state (connecting, open, backoff, closed; local for this node), 0 for the others',
    fill: (s, _c, emit) => {
      for (const p of s.peers) {
        for (const state of STATES) emit({ [NODE]: p.nodeId, state }, p.state === state ? 1 : 0)
      }
    }
  },
  { name: 'mirnet_peer_inbound_open', type: 'gauge', labelNames: [NODE], help: 'Whether an inbound stream from a member is open (1) or not (0)', fill: perPeer(p => p.inboundOpen ? 1 : 0) },
  { name: 'mirnet_peer_resent_messages_total', type: 'counter', labelNames: [NODE], help: 'Messages to a member written again on a new connection because the broken one had not acknowledged them (not counted again as sent)', fill: perPeer(p => p.resentMessages) },
  { name: 'mirnet_lane_queued_messages', type: 'gauge', labelNames: [NODE, LANE], help: 'Messages waiting in a lane\'s send queue to a member', fill: perLane(l => l.queued) },
  { name: 'mirnet_lane_queued_bytes', type: 'gauge', labelNames: [NODE, LANE], help: 'Payload bytes waiting in a lane\'s send queue to a member', fill: perLane(l => l.queuedBytes) },
  { name: 'mirnet_lane_sent_messages_total', type: 'counter', labelNames: [NODE, LANE], help: 'Messages on a lane written to a member (first time)', fill: perLane(l => l.sentMessages) },
  { name: 'mirnet_lane_sent_bytes_total', type: 'counter', labelNames: [NODE, LANE], help: 'Payload bytes on a lane written to a member (first time)', fill: perLane(l => l.sentBytes) },
  { name: 'mirnet_lane_dropped_messages_total', type: 'counter', labelNames: [NODE, LANE], help: 'Oldest messages dropped from a lane\'s full send queue to a member', fill: perLane(l => l.droppedMessages) },
  { name: 'mirnet_lane_acknowledged_messages_total', type: 'counter', labelNames: [NODE, LANE], help: 'Messages on a lane that a member acknowledged', fill: perLane(l => l.acknowledgedMessages) },
  { name: 'mirnet_lane_unconfirmed_messages', type: 'gauge', labelNames: [NODE, LANE], help: 'Messages on a lane written to a member and not yet acknowledged', fill: perLane(l => l.unconfirmedMessages) },
  { name: 'mirnet_lane_resent_messages_total', type: 'counter', labelNames: [NODE, LANE], help: 'Messages on a lane written to a member again after a reconnect', fill: perLane(l => l.resentMessages) },
  { name: 'mirnet_lane_received_messages_total', type: 'counter', labelNames: [NODE, LANE], help: 'Messages on a lane received from a member', fill: perLane(l => l.receivedMessages) },
  { name: 'mirnet_lane_received_bytes_total', type: 'counter', labelNames: [NODE, LANE], help: 'Payload bytes on a lane received from a member', fill: perLane(l => l.receivedBytes) },
  { name: 'mirnet_lane_duplicate_messages_total', type: 'counter', labelNames: [NODE, LANE], help: 'Messages on a lane received from a member a second time and dropped by sequence number', fill: perLane(l => l.duplicateMessages) },
  { name: 'mirnet_peer_reconnects_total', type: 'counter', labelNames: [NODE], help: 'Connections to a member re-established after a failure or an address change', fill: perPeer(p => p.reconnects) },
  { name: 'mirnet_tentative_receivers', type: 'gauge', help: 'Inbound streams from peers not (yet) members, held open now', fill: single(s => s.tentative.length) },
  { name: 'mirnet_tentative_held_messages', type: 'gauge', help: 'Messages held by tentative receivers for delivery if their peers join', fill: single(s => sum(s, 'heldMessages')) },
  { name: 'mirnet_tentative_held_bytes', type: 'gauge', help: 'Payload bytes held by tentative receivers', fill: single(s => sum(s, 'heldBytes')) },
  { name: 'mirnet_tentative_evicted_receivers_total', type: 'counter', help: 'Tentative receivers closed to stay within --tentative-max-receivers', fill: single(s => s.tentativeEvicted) },
  {
    name: 'mirnet_tentative_dropped_messages_total',
    type: 'counter',
    labelNames: ['reason'],
    help: 'Messages from non-members that were lost, by reason: overflow (oldest held dropped to stay within a receiver\'s bounds), evicted (held by an evicted receiver), closed (held when the stream or the daemon closed)',
    fill: (s, _c, emit) => {
      const l = s.tentativeLosses
      emit({ reason: 'overflow' }, l.droppedMessages)
      emit({ reason: 'evicted' }, l.evictedMessages)
      emit({ reason: 'closed' }, l.closedMessages)
    }
  },
  { name: 'mirnet_inbox_messages', type: 'gauge', help: 'Received messages waiting for a Receive stream or a Pull', fill: single(s => s.inbox.messages) },
  { name: 'mirnet_inbox_bytes', type: 'gauge', help: 'Payload bytes waiting in the inbox', fill: single(s => s.inbox.bytes) },
  { name: 'mirnet_inbox_lane_messages', type: 'gauge', labelNames: [LANE], help: 'Received messages on a lane waiting for a Receive stream or a Pull', fill: (s, _c, emit) => { for (const l of s.inbox.lanes) emit({ [LANE]: l.lane }, l.messages) } },
  { name: 'mirnet_inbox_lane_bytes', type: 'gauge', labelNames: [LANE], help: 'Payload bytes on a lane waiting in the inbox', fill: (s, _c, emit) => { for (const l of s.inbox.lanes) emit({ [LANE]: l.lane }, l.bytes) } },
  { name: 'mirnet_inbox_taken_messages_total', type: 'counter', help: 'Messages taken from the inbox by Receive streams and Pull calls', fill: single(s => s.inbox.delivered) },
  { name: 'mirnet_receive_delivered_messages_total', type: 'counter', help: 'Messages written to Receive streams and Pull responses', fill: single((_s, c) => c.deliveredMessages) },
  { name: 'mirnet_receive_abandoned_messages_total', type: 'counter', help: 'Messages taken by a Receive stream or a Pull that its client may never have read (the stream was cancelled, the Pull response did not reach the client whole)', fill: single((_s, c) => c.abandonedMessages) },
  { name: 'mirnet_receive_streams', type: 'gauge', help: 'Receive streams open now', fill: single((_s, c) => c.receiveStreams) }
]

function sum (stats: NetworkStats, field: 'heldMessages' | 'heldBytes'): number {
  let n = 0
  for (const t of stats.tentative) n += t[field]
  return n
}

let processRegistry: Registry | undefined

/**
 * The process metrics (`process_*`, `nodejs_*`), collected once per process
 * however many daemons it runs: their observers (GC, event loop delay)
 * cannot be stopped, so they are made once.
 */
function processMetrics (): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

/**
 * A daemon's Prometheus metrics. The counters are not kept here: each scrape
 * reads `NetworkModule.stats()` once (shared by every series of that scrape)
 * and the service's counters, the same ones GetStatus reports. Only the RPC
 * histogram ({@link rpc}) records as calls happen.
 */
export class DaemonMetrics {
  /** Everything served at /metrics: this daemon's series and the process's. */
  readonly registry: Registry
  readonly rpc: RpcMetrics
  readonly #sources: MetricsSources
  #snapshot?: NetworkStats

  constructor (sources: MetricsSources) {
    this.#sources = sources
    const own = new Registry()
    for (const d of DEFINITIONS) this.#define(own, d)
    this.rpc = new RpcMetrics(own)
    this.registry = Registry.merge([own, processMetrics()])
  }

  /** The exposition text, in the format of `contentType`. */
  async scrape (): Promise<string> {
    return await this.registry.metrics()
  }

  get contentType (): string { return this.registry.contentType }

  /** One stats snapshot per scrape: every collect of one `metrics()` call runs in the same turn. */
  #stats (): NetworkStats {
    let stats = this.#snapshot
    if (stats === undefined) {
      stats = this.#sources.stats()
      this.#snapshot = stats
      queueMicrotask(() => { this.#snapshot = undefined })
    }
    return stats
  }

  #define (registry: Registry, d: Definition): void {
    const read = (emit: Emit): void => { d.fill(this.#stats(), this.#sources.service, emit) }
    const config = { name: d.name, help: d.help, labelNames: d.labelNames ?? [], registers: [registry] }
    if (d.type === 'counter') {
      // eslint-disable-next-line no-new
      new Counter({
        ...config,
        collect () {
          this.reset()
          read((labels, value) => { this.inc(labels, value) })
        }
      })
    } else {
      // eslint-disable-next-line no-new
      new Gauge({
        ...config,
        collect () {
          this.reset()
          read((labels, value) => { this.set(labels, value) })
        }
      })
    }
  }
}
