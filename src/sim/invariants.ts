import { InvariantViolation } from './errors.ts'
import { decodePayload } from './payload.ts'
import type { NetworkModuleConfig } from '../core/config.ts'
import type { NetworkStats, SendCounters } from '../core/peer-stats.ts'
import type { Trace } from './trace.ts'

/** What the checker needs of a node's life (cluster.ts's Life). */
export interface CheckedLife {
  /** `<nodeId>#<life>`. */
  readonly id: string
  readonly nodeId: string
  readonly alive: boolean
  isMember: (nodeId: string) => boolean
  /** How often this life's membership has added `nodeId` (messages from it are ordered per such epoch). */
  receiverEpoch: (nodeId: string) => number
  laneNumber: (name: string) => number
}

/** Finds the life that sent a payload from its header (node index, life number). */
export type SenderLookup = (sender: number, life: number) => CheckedLife | undefined

/**
 * `sent = queued + acknowledged + dropped + lost in flight + unconfirmed +
 * discarded`, per destination and lane, from what the workload handed to
 * `send()` and what the NetworkModule's stats say; a description of the gap,
 * or undefined when it balances.
 */
export function accountingGap (pushes: number, s: SendCounters): string | undefined {
  const accounted = s.queued + s.acknowledgedMessages + s.droppedMessages + s.lostInFlightMessages + s.unconfirmedMessages + s.discardedMessages
  if (accounted === pushes) return undefined
  return `${pushes} sent, ${accounted} accounted for (queued ${s.queued}, acknowledged ${s.acknowledgedMessages}, dropped ${s.droppedMessages}, lost in flight ${s.lostInFlightMessages}, unconfirmed ${s.unconfirmedMessages}, discarded ${s.discardedMessages})`
}

/**
 * Every memory bound of one node, from its stats: per member and lane the
 * queue (messages, bytes) and the window (messages written and not yet
 * settled); per inbox lane its capacity plus what one credit lets each
 * sender write (and what promoted tentative receivers bring); the
 * tentative pool and each tentative receiver's hold. A description of the
 * first bound exceeded, or undefined.
 */
export function boundsBreach (stats: NetworkStats, config: NetworkModuleConfig): string | undefined {
  for (const p of stats.peers) {
    for (let i = 0; i < p.lanes.length; i++) {
      const s = p.lanes[i]
      const lane = config.lanes[i]
      if (s.queued > lane.queueCapacity || s.queuedBytes > lane.queueMaxBytes) {
        return `${stats.nodeId} -> ${p.nodeId} lane ${lane.name}: queue holds ${s.queued} messages / ${s.queuedBytes} bytes, bounds ${lane.queueCapacity} / ${lane.queueMaxBytes}`
      }
      if (s.unconfirmedMessages > lane.windowMessages) {
        return `${stats.nodeId} -> ${p.nodeId} lane ${lane.name}: ${s.unconfirmedMessages} messages unconfirmed, window ${lane.windowMessages}`
      }
    }
  }
  const senders = stats.peers.length + stats.tentative.length
  for (let i = 0; i < stats.inbox.lanes.length; i++) {
    const l = stats.inbox.lanes[i]
    const lane = config.lanes[i]
    const credit = Math.min(lane.windowMessages, config.inboxCapacity)
    const most = config.inboxCapacity + senders * (credit + config.tentativeMaxMessages)
    if (l.messages > most) return `${stats.nodeId} inbox lane ${l.lane} holds ${l.messages} messages, bound ${most} (capacity ${config.inboxCapacity} + ${senders} senders × (credit ${credit} + tentative hold ${config.tentativeMaxMessages}))`
  }
  if (stats.tentative.length > config.tentativeMaxReceivers) {
    return `${stats.nodeId} holds ${stats.tentative.length} tentative receivers, bound ${config.tentativeMaxReceivers}`
  }
  for (const t of stats.tentative) {
    if (t.heldMessages > config.tentativeMaxMessages || t.heldBytes > config.tentativeMaxBytes) {
      return `${stats.nodeId} tentative receiver of ${t.identity} holds ${t.heldMessages} messages / ${t.heldBytes} bytes, bounds ${config.tentativeMaxMessages} / ${config.tentativeMaxBytes}`
    }
  }
  return undefined
}

/**
 * The checks made on every message: as it enters a receiver's inbox (intact,
 * on its lane, from the authenticated sender, a member, in order and not a
 * duplicate per sender life, receiver life, membership epoch and lane) and
 * as the consumer takes it (kept per sender life, receiver life and lane,
 * to count what arrived). The first violation is kept; the simulation stops
 * at it.
 */
export class Invariants {
  violation?: InvariantViolation
  messagesChecked = 0
  readonly #trace: Trace
  readonly #lookup: SenderLookup
  readonly #last = new Map<string, number>()
  readonly #taken = new Map<string, number[]>()

  constructor (trace: Trace, lookup: SenderLookup) {
    this.#trace = trace
    this.#lookup = lookup
  }

  fail (invariant: string, detail: string): void {
    if (this.violation !== undefined) return
    this.violation = new InvariantViolation(invariant, detail)
    this.#trace.event('violation', `${invariant}: ${detail}`)
  }

  /** A message entered `receiver`'s inbox as from `from`. */
  arrived (receiver: CheckedLife, from: string, lane: number, payload: Uint8Array): void {
    if (!receiver.alive) return
    this.messagesChecked++
    const h = decodePayload(payload)
    if (typeof h === 'string') {
      this.fail('payload intact', `${receiver.id} from "${from}": ${h}`)
      return
    }
    if (h.lane !== lane) this.fail('lane kept', `${receiver.id} got on lane ${lane} a message sent on lane ${h.lane}`)
    const sender = this.#lookup(h.sender, h.life)
    if (sender === undefined) {
      this.fail('sender is the authenticated one', `${receiver.id} got a message of an unknown sender ${h.sender}/${h.life}`)
      return
    }
    if (from !== sender.nodeId) {
      this.fail('sender is the authenticated one', `${receiver.id} got a message of ${sender.id} as from "${from}"`)
      return
    }
    if (from !== receiver.nodeId && !receiver.isMember(from)) {
      this.fail('only members are delivered', `${receiver.id} delivered a message of ${sender.id}, not a member`)
      return
    }
    this.order(sender.id, receiver.id, receiver.receiverEpoch(from), lane, h.seq)
  }

  /** Per (sender life, receiver life, epoch, lane): strictly increasing sequence numbers. */
  order (sender: string, receiver: string, epoch: number, lane: number, seq: number): void {
    const key = `${sender}>${receiver}#${epoch}|${lane}`
    const last = this.#last.get(key)
    if (last !== undefined && seq <= last) {
      this.fail('in order, no duplicate', `${sender} -> ${receiver} (epoch ${epoch}) lane ${lane}: seq ${seq} after ${last}${seq === last ? ' (a duplicate)' : ' (out of order)'}`)
    }
    this.#last.set(key, seq)
  }

  /** The consumer of `receiver` took a message. */
  taken (receiver: CheckedLife, from: string, laneName: string, payload: Uint8Array): void {
    const h = decodePayload(payload)
    if (typeof h === 'string') {
      this.fail('payload intact', `${receiver.id} took from "${from}": ${h}`)
      return
    }
    const sender = this.#lookup(h.sender, h.life)
    if (sender === undefined) return
    const key = `${sender.id}>${receiver.id}|${receiver.laneNumber(laneName)}`
    let seqs = this.#taken.get(key)
    if (seqs === undefined) this.#taken.set(key, seqs = [])
    seqs.push(h.seq)
  }

  /** How many messages of `sender` on `lane` with a sequence number from `fromSeq` on `receiver`'s consumer took. */
  takenCount (sender: string, receiver: string, lane: number, fromSeq: number): number {
    const seqs = this.#taken.get(`${sender}>${receiver}|${lane}`)
    if (seqs === undefined) return 0
    let n = 0
    for (const s of seqs) if (s >= fromSeq) n++
    return n
  }
}
