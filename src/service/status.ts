import { create } from '@bufbuild/protobuf'
import { ConnectionState, GetStatusResponseSchema } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import type { GetStatusResponse, LaneStatusSchema } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import type { MessageInitShape } from '@bufbuild/protobuf'
import type { LaneStats, LinkState, NetworkStats } from '../core/peer-stats.ts'

const STATES: Record<LinkState, ConnectionState> = {
  connecting: ConnectionState.CONNECTING,
  open: ConnectionState.OPEN,
  backoff: ConnectionState.BACKOFF,
  closed: ConnectionState.CLOSED,
  local: ConnectionState.LOCAL
}

/** A link state as the API names it. */
export function connectionState (state: LinkState): ConnectionState {
  return STATES[state]
}

export interface ServiceCounters {
  /** Messages handed to Receive streams and Pull responses. */
  deliveredMessages: number
  /** Messages taken by a Receive stream or a Pull and possibly never read by its client. */
  abandonedMessages: number
  /** Receive streams open now. */
  receiveStreams: number
}

/** The core's stats as the API's GetStatusResponse. */
export function toStatusResponse (stats: NetworkStats, counters: ServiceCounters): GetStatusResponse {
  const totals = {
    sentMessages: 0n,
    droppedMessages: 0n,
    lostInFlightMessages: 0n,
    acknowledgedMessages: 0n,
    unconfirmedMessages: 0n,
    resentMessages: 0n,
    discardedMessages: 0n,
    receivedMessages: 0n,
    deliveredMessages: BigInt(counters.deliveredMessages),
    abandonedMessages: BigInt(counters.abandonedMessages),
    receiveStreams: counters.receiveStreams,
    inboxMessages: BigInt(stats.inbox.messages),
    connected: stats.connected,
    tentativeEvicted: BigInt(stats.tentativeEvicted)
  }
  const peers = stats.peers.map(p => {
    totals.sentMessages += BigInt(p.sentMessages)
    totals.droppedMessages += BigInt(p.droppedMessages)
    totals.lostInFlightMessages += BigInt(p.lostInFlightMessages)
    totals.acknowledgedMessages += BigInt(p.acknowledgedMessages)
    totals.unconfirmedMessages += BigInt(p.unconfirmedMessages)
    totals.resentMessages += BigInt(p.resentMessages)
    totals.discardedMessages += BigInt(p.discardedMessages)
    totals.receivedMessages += BigInt(p.receivedMessages)
    return {
      nodeId: p.nodeId,
      address: p.address,
      peerId: p.identity,
      state: STATES[p.state],
      inboundOpen: p.inboundOpen,
      queuedMessages: BigInt(p.queued),
      queuedBytes: BigInt(p.queuedBytes),
      sentMessages: BigInt(p.sentMessages),
      sentBytes: BigInt(p.sentBytes),
      droppedMessages: BigInt(p.droppedMessages),
      droppedBytes: BigInt(p.droppedBytes),
      lostInFlightMessages: BigInt(p.lostInFlightMessages),
      acknowledgedMessages: BigInt(p.acknowledgedMessages),
      unconfirmedMessages: BigInt(p.unconfirmedMessages),
      resentMessages: BigInt(p.resentMessages),
      discardedMessages: BigInt(p.discardedMessages),
      receivedMessages: BigInt(p.receivedMessages),
      receivedBytes: BigInt(p.receivedBytes),
      reconnects: BigInt(p.reconnects),
      lastError: p.lastError ?? '',
      lanes: p.lanes.map(toLaneStatus)
    }
  })
  return create(GetStatusResponseSchema, {
    nodeId: stats.nodeId,
    peerId: stats.identity,
    peers,
    tentative: stats.tentative.map(t => ({
      peerId: t.identity,
      heldMessages: BigInt(t.heldMessages),
      heldBytes: BigInt(t.heldBytes),
      droppedMessages: BigInt(t.droppedMessages),
      receivedMessages: BigInt(t.receivedMessages)
    })),
    totals
  })
}

function toLaneStatus (l: LaneStats): MessageInitShape<typeof LaneStatusSchema> {
  return {
    lane: l.lane,
    queuedMessages: BigInt(l.queued),
    queuedBytes: BigInt(l.queuedBytes),
    sentMessages: BigInt(l.sentMessages),
    sentBytes: BigInt(l.sentBytes),
    droppedMessages: BigInt(l.droppedMessages),
    droppedBytes: BigInt(l.droppedBytes),
    acknowledgedMessages: BigInt(l.acknowledgedMessages),
    unconfirmedMessages: BigInt(l.unconfirmedMessages),
    lostInFlightMessages: BigInt(l.lostInFlightMessages),
    resentMessages: BigInt(l.resentMessages),
    receivedMessages: BigInt(l.receivedMessages),
    receivedBytes: BigInt(l.receivedBytes),
    duplicateMessages: BigInt(l.duplicateMessages),
    discardedMessages: BigInt(l.discardedMessages)
  }
}
