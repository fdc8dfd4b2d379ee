import { ConnectionState } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import type { GetStatusResponse, LaneStatus, PeerStatus, TentativePeer } from '../../gen/ts/mirnet/v1/transport_pb.ts'

/** One GetStatus answer and when it arrived. */
export interface StatusSample {
  status: GetStatusResponse
  /** Monotonic clock reading (`performance.now()`), in milliseconds. */
  atMs: number
}

/** What one frame of `mirnet status` shows. */
export interface StatusView {
  /** The API address the status came from. */
  api: string
  current: StatusSample
  /** The sample before `current`; without it the rates are shown as `-`. */
  previous?: StatusSample
  /** Wall-clock time of `current`, shown in the header. */
  time: Date
}

const STATE_NAMES: Record<number, string> = {
  [ConnectionState.UNSPECIFIED]: 'unknown',
  [ConnectionState.CONNECTING]: 'connecting',
  [ConnectionState.OPEN]: 'open',
  [ConnectionState.BACKOFF]: 'backoff',
  [ConnectionState.CLOSED]: 'closed',
  [ConnectionState.LOCAL]: 'local'
}

/** A member's outbound link state as `mirnet status` names it (as the metrics' `state` label does). */
export function stateName (state: ConnectionState): string {
  return STATE_NAMES[state] ?? `state ${state}`
}

/**
 * Per second, how much a counter grew from `previous` to `current` over
 * `elapsedMs`; undefined without a previous value or elapsed time. A counter
 * that went back started again from zero (the daemon restarted, or the member
 * was removed and added again), as Prometheus' `rate()` reads a reset.
 */
export function ratePerSecond (current: bigint, previous: bigint | undefined, elapsedMs: number | undefined): number | undefined {
  if (previous === undefined || elapsedMs === undefined || !(elapsedMs > 0)) return undefined
  const delta = current >= previous ? current - previous : current
  return Number(delta) * 1000 / elapsedMs
}

/** A rate for the table: `-` when unknown, one decimal below 1000/s. */
export function formatRate (rate: number | undefined): string {
  if (rate === undefined) return '-'
  if (rate === 0) return '0'
  return rate < 1000 ? rate.toFixed(1) : Math.round(rate).toString()
}

type Align = 'left' | 'right'

interface Column {
  title: string
  align: Align
}

/** The member table's columns, in order; `--help` explains each (see STATUS_COLUMNS_HELP). */
const MEMBER_COLUMNS: Column[] = [
  { title: 'MEMBER', align: 'left' },
  { title: 'STATE', align: 'left' },
  { title: 'IN', align: 'left' },
  { title: 'LANE', align: 'left' },
  { title: 'QUEUED', align: 'right' },
  { title: 'UNACKED', align: 'right' },
  { title: 'SENT', align: 'right' },
  { title: 'SENT/S', align: 'right' },
  { title: 'ACKED', align: 'right' },
  { title: 'ACKED/S', align: 'right' },
  { title: 'DROPPED', align: 'right' },
  { title: 'DROP/S', align: 'right' },
  { title: 'RECEIVED', align: 'right' },
  { title: 'RECV/S', align: 'right' },
  { title: 'RECONN', align: 'right' }
]

const TENTATIVE_COLUMNS: Column[] = [
  { title: 'TENTATIVE PEER', align: 'left' },
  { title: 'HELD', align: 'right' },
  { title: 'HELD BYTES', align: 'right' },
  { title: 'DROPPED', align: 'right' },
  { title: 'RECEIVED', align: 'right' },
  { title: 'RECV/S', align: 'right' }
]

/** What `mirnet status --help` says about the columns (kept next to them). */
export const STATUS_COLUMNS_HELP = `
The table has one row per member (LANE "all": the member's totals), then one
row per lane to and from that member:
  MEMBER    node id (the daemon's own node is a member too, STATE local)
  STATE     outbound link: connecting, open, backoff (waiting to redial),
            closed, local (this node: delivered without the network)
  IN        yes while an inbound stream from the member is open
  LANE      all (the member's totals), or the lane of the counters
  QUEUED    messages waiting in the send queue (not yet written)
  UNACKED   messages written and not yet acknowledged (or known lost)
  SENT      messages written to the link (first time; resends not counted)
  ACKED     messages the member's daemon acknowledged (took into its inbox)
  DROPPED   oldest messages dropped because the send queue was full
  RECEIVED  messages received from the member
  RECONN    connections re-established after a failure or address change
A column ending in /S is the rate per second of the one before it, over the
time between the last two samples (a counter that went back, because the
daemon restarted, counts from zero). Above the table: members, connected
members, the inbox (received messages waiting for a Receive stream or a
Pull), open Receive streams, messages delivered to Receive streams and Pull
responses, and the losses other than DROPPED (lost in flight: written to a
member whose daemon restarted before acknowledging them; discarded: still
queued when a member was removed; abandoned: taken by a stream or a Pull
whose client may not have read them).
Below it, each member's last connection error, if it has one, and the
tentative peers: inbound connections from peers not in the
membership, with the messages held for them (HELD, HELD BYTES) in case they
join, the older ones DROPPED to stay within bounds, and RECEIVED in all.`

/** Left- or right-aligned cells in columns as wide as their widest cell, two spaces apart, no trailing blanks. */
function layout (columns: Column[], rows: string[][]): string[] {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map(r => r[i].length)))
  const line = (cells: string[]): string => cells
    .map((cell, i) => columns[i].align === 'left' ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))
    .join('  ')
    .trimEnd()
  return [line(columns.map(c => c.title)), ...rows.map(line)]
}

/** The counters a member row and a lane row share, with the rates between them. */
function counterCells (
  current: PeerStatus | LaneStatus,
  previous: PeerStatus | LaneStatus | undefined,
  elapsedMs: number | undefined
): string[] {
  const rate = (field: 'sentMessages' | 'acknowledgedMessages' | 'droppedMessages' | 'receivedMessages'): string =>
    formatRate(ratePerSecond(current[field], previous?.[field], elapsedMs))
  return [
    current.queuedMessages.toString(),
    current.unconfirmedMessages.toString(),
    current.sentMessages.toString(),
    rate('sentMessages'),
    current.acknowledgedMessages.toString(),
    rate('acknowledgedMessages'),
    current.droppedMessages.toString(),
    rate('droppedMessages'),
    current.receivedMessages.toString(),
    rate('receivedMessages')
  ]
}

function memberRows (peer: PeerStatus, previous: PeerStatus | undefined, elapsedMs: number | undefined): string[][] {
  const rows = [[
    peer.nodeId,
    stateName(peer.state),
    peer.state === ConnectionState.LOCAL ? '-' : peer.inboundOpen ? 'yes' : 'no',
    'all',
    ...counterCells(peer, previous, elapsedMs),
    peer.reconnects.toString()
  ]]
  for (const lane of peer.lanes) {
    const before = previous?.lanes.find(l => l.lane === lane.lane)
    rows.push(['', '', '', lane.lane, ...counterCells(lane, before, elapsedMs), ''])
  }
  return rows
}

function tentativeRow (peer: TentativePeer, previous: TentativePeer | undefined, elapsedMs: number | undefined): string[] {
  return [
    peer.peerId,
    peer.heldMessages.toString(),
    peer.heldBytes.toString(),
    peer.droppedMessages.toString(),
    peer.receivedMessages.toString(),
    formatRate(ratePerSecond(peer.receivedMessages, previous?.receivedMessages, elapsedMs))
  ]
}

const byNodeId = (a: PeerStatus, b: PeerStatus): number => a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0

/** `2026-12-01 23:50:01 UTC` */
function formatTime (time: Date): string {
  return `${time.toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

/**
 * One frame of `mirnet status`, as lines without line ends: a header, the
 * totals, the member table (a row per member, then a row per lane) and the
 * tentative peers. Rates per second come from `view.previous` and the time
 * between the two samples; a pure function of the view.
 */
export function renderStatus (view: StatusView): string[] {
  const { status } = view.current
  const previous = view.previous?.status
  // a sample of another daemon (the address now answers for another node) gives no rates
  const sameDaemon = previous !== undefined && previous.peerId === status.peerId
  const elapsedMs = sameDaemon ? view.current.atMs - view.previous!.atMs : undefined
  const totals = status.totals
  const before = sameDaemon ? previous.totals : undefined
  const rates = elapsedMs === undefined ? 'rates need two samples' : `rates over ${(elapsedMs / 1000).toFixed(1)} s`
  const delivered = totals?.deliveredMessages ?? 0n
  const deliveredRate = formatRate(ratePerSecond(delivered, before?.deliveredMessages, elapsedMs))
  const lines = [
    `mirnet status of ${status.nodeId} at ${view.api}, ${formatTime(view.time)}, ${rates}`,
    `peer ${status.peerId}, members ${status.peers.length}, connected ${totals?.connected ?? 0}, inbox ${totals?.inboxMessages ?? 0n}, receive streams ${totals?.receiveStreams ?? 0}`,
    `delivered ${delivered} (${deliveredRate}/s), lost in flight ${totals?.lostInFlightMessages ?? 0n}, discarded ${totals?.discardedMessages ?? 0n}, abandoned ${totals?.abandonedMessages ?? 0n}`,
    ''
  ]
  const peers = [...status.peers].sort(byNodeId)
  const rows: string[][] = []
  for (const peer of peers) {
    const was = sameDaemon ? previous.peers.find(p => p.nodeId === peer.nodeId) : undefined
    rows.push(...memberRows(peer, was, elapsedMs))
  }
  lines.push(...layout(MEMBER_COLUMNS, rows), '')
  const failing = peers.filter(p => p.lastError !== '')
  if (failing.length > 0) {
    const width = Math.max(...failing.map(p => p.nodeId.length))
    lines.push('last errors:', ...failing.map(p => `  ${p.nodeId.padEnd(width)}  ${p.lastError}`), '')
  }
  if (status.tentative.length === 0) {
    lines.push(`tentative peers: none (evicted so far: ${totals?.tentativeEvicted ?? 0n})`)
  } else {
    const tentative = status.tentative.map(t => tentativeRow(t, sameDaemon ? previous.tentative.find(p => p.peerId === t.peerId) : undefined, elapsedMs))
    lines.push(...layout(TENTATIVE_COLUMNS, tentative), `(evicted so far: ${totals?.tentativeEvicted ?? 0n})`)
  }
  return lines
}

/** A frame that says why there is no status this time (`--watch` keeps trying). */
export function renderUnavailable (api: string, time: Date, reason: string, intervalMs: number): string[] {
  return [
    `mirnet status at ${api}, ${formatTime(time)}: no answer`,
    reason,
    `(trying again every ${(intervalMs / 1000).toFixed(1)} s; Ctrl-C stops)`
  ]
}
