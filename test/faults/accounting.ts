import { setTimeout as sleep } from 'node:timers/promises'
import type { MirnetClient } from '../../src/client/client.ts'
import type { Consumer, Sender } from './traffic.ts'

/** One direction of traffic: what the sender's client queued and where every message went. */
export interface Flow {
  sender: Sender
  /** The sending daemon's API, whose counters for `to` are read. */
  senderClient: MirnetClient
  to: string
  /** Every Receive consumer `to` has had (one per daemon life). */
  consumers: Consumer[]
}

export interface Ledger {
  from: string
  to: string
  /** Messages the sender's daemon confirmed queued for `to`. */
  sent: number
  /** Messages the consumers at `to` read from `from`. */
  delivered: number
  /** Oldest messages dropped by the sender's full queue (counted by the sender's daemon). */
  dropped: number
  /**
   * Messages lost on broken connections (counted by the sender's daemon).
   * With link protocol v2 unacknowledged messages are resent on the next
   * stream, so this is 0 while both daemons live; only a receiver's restart
   * makes it nonzero (an upper bound: its previous life cannot say what it took).
   */
  lostInFlight: number
  /** Messages the receiving daemon acknowledged (took into its inbox). */
  acknowledged: number
  /** Still queued at the sender, or written but not yet known to have arrived (unconfirmed). */
  pending: number
  discarded: number
  /** Messages written again on a new stream (not counted again in `sent`); reported, not balanced. */
  resent: number
}

async function ledgerOf (flow: Flow): Promise<Ledger> {
  const status = await flow.senderClient.getStatus({}, { timeoutMs: 10_000 })
  const peer = status.peers.find(p => p.nodeId === flow.to)
  if (peer === undefined) throw new Error(`${flow.sender.from} has no member ${flow.to}`)
  let delivered = 0
  for (const c of flow.consumers) delivered += c.count(flow.sender.from)
  return {
    from: flow.sender.from,
    to: flow.to,
    sent: flow.sender.sent.get(flow.to) ?? 0,
    delivered,
    dropped: Number(peer.droppedMessages),
    lostInFlight: Number(peer.lostInFlightMessages),
    acknowledged: Number(peer.acknowledgedMessages),
    pending: Number(peer.queuedMessages) + Number(peer.unconfirmedMessages),
    discarded: Number(peer.discardedMessages),
    resent: Number(peer.resentMessages)
  }
}

/**
 * The ledger `l` should be while both daemons live (partitions, cuts, loss,
 * a slow consumer): `expect(l).toEqual(balancedLedger(l))` shows what is
 * off. Retransmission makes delivery exactly once, so every message sent
 * was delivered or dropped from the sender's full queue,
 * sent = delivered + dropped, with nothing lost in flight, every
 * acknowledged message delivered, and nothing pending. (Duplicates would
 * show here as delivered > acknowledged; the Consumer also counts them.)
 */
export function balancedLedger (l: Ledger): Ledger {
  return { ...l, pending: 0, discarded: 0, lostInFlight: 0, acknowledged: l.delivered, sent: l.delivered + l.dropped }
}

/**
 * For traffic to a daemon that was killed (kill -9) and restarted.
 * A dead life's books die with it: messages it had acknowledged but not yet
 * handed to a consumer are gone; messages it had taken (and maybe handed to
 * a consumer) but not yet acknowledged are either resent to the next life,
 * which may then deliver them a second time (counted in `resent`), or, when
 * the sender's queue had pushed them out meanwhile, counted lost by the
 * sender, which cannot know better. So the sender's books balance,
 * sent = acknowledged + dropped + lost in flight, nothing is pending, and the
 * consumers read no more than acknowledged + lost in flight + resent.
 */
export function balancedLedgerAcrossKills (l: Ledger): Ledger {
  return { ...l, pending: 0, discarded: 0, sent: l.acknowledged + l.dropped + l.lostInFlight, delivered: Math.min(l.delivered, l.acknowledged + l.lostInFlight + l.resent) }
}

const matches = (l: Ledger, target: (l: Ledger) => Ledger): boolean => {
  const t = target(l)
  return (Object.keys(t) as Array<keyof Ledger>).every(k => t[k] === l[k])
}

/**
 * Once the senders have stopped: poll until every flow's ledger is what
 * `target` says it should be (by default sent = delivered + dropped + lost in
 * flight, nothing pending), or until `timeoutMs`; resolves with the last
 * ledgers either way, for the caller to report and assert.
 */
export async function settle (flows: Flow[], timeoutMs = 30_000, target = balancedLedger): Promise<Ledger[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ledgers = await Promise.all(flows.map(ledgerOf))
    if (ledgers.every(l => matches(l, target)) || Date.now() > deadline) return ledgers
    await sleep(100)
  }
}

/** The four numbers of the issue and the resends, summed over flows. */
export function totals (ledgers: Ledger[]): { sent: number, delivered: number, dropped: number, lostInFlight: number, resent: number } {
  const t = { sent: 0, delivered: 0, dropped: 0, lostInFlight: 0, resent: 0 }
  for (const l of ledgers) {
    t.sent += l.sent
    t.delivered += l.delivered
    t.dropped += l.dropped
    t.lostInFlight += l.lostInFlight
    t.resent += l.resent
  }
  return t
}
