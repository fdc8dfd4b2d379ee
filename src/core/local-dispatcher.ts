import { DropOldestQueue } from './drop-oldest-queue.ts'
import type { DispatcherCounters } from './dispatcher.ts'
import type { Inbox } from './inbox.ts'
import type { Lane } from './lanes.ts'
import type { SendCounters, SendOutcome } from './peer-stats.ts'
import type { MemberSender } from './member-sender.ts'

class LocalLane {
  readonly queue: DropOldestQueue<Uint8Array>
  waitingForSpace = false
  sentMessages = 0
  sentBytes = 0
  discarded = 0

  constructor (lane: Lane) {
    this.queue = new DropOldestQueue(lane.queueCapacity, lane.queueMaxBytes)
  }

  stats (): SendCounters {
    return {
      queued: this.queue.length,
      queuedBytes: this.queue.byteLength,
      sentMessages: this.sentMessages,
      sentBytes: this.sentBytes,
      droppedMessages: this.queue.dropped,
      droppedBytes: this.queue.droppedBytes,
      acknowledgedMessages: this.sentMessages,
      lostInFlightMessages: 0,
      unconfirmedMessages: 0,
      discardedMessages: this.discarded,
      resentMessages: 0
    }
  }
}

/**
 * The own node's path: messages to self go from a bounded drop-oldest queue
 * per lane straight into the inbox, without the network. When a lane of the
 * inbox is full that lane's queue holds them (and drops its oldest), as a
 * remote peer's lane would.
 */
export class LocalDispatcher implements MemberSender {
  readonly nodeId: string
  readonly address: string
  readonly #inbox: Inbox
  readonly #lanes: LocalLane[]
  #scheduled = false
  #closed = false

  constructor (inbox: Inbox, init: { nodeId: string, address: string, lanes: readonly Lane[] }) {
    this.nodeId = init.nodeId
    this.address = init.address
    this.#inbox = inbox
    this.#lanes = init.lanes.map(l => new LocalLane(l))
  }

  get isOpen (): boolean { return !this.#closed }

  /** The node itself has no address to redial. */
  setAddress (): void {}

  /** Nothing to wait for: the node itself is never dialed. */
  peerDialed (): void {}

  enqueue (payload: Uint8Array, lane: number): SendOutcome {
    const dropped = this.#lanes[lane].queue.push(payload)
    if (!this.#scheduled && !this.#closed) {
      this.#scheduled = true
      queueMicrotask(this.#flush)
    }
    return dropped === 0 ? 'queued' : 'dropped-oldest'
  }

  readonly #flush = (): void => {
    this.#scheduled = false
    if (this.#closed) return
    const inbox = this.#inbox
    for (let lane = 0; lane < this.#lanes.length; lane++) {
      const l = this.#lanes[lane]
      if (l.waitingForSpace) continue
      const queue = l.queue
      while (queue.length > 0 && !inbox.full(lane)) {
        const payload = queue.shift() as Uint8Array
        inbox.push(this.nodeId, lane, payload)
        l.sentMessages++
        l.sentBytes += payload.byteLength
      }
      if (queue.length > 0) {
        l.waitingForSpace = true
        inbox.whenSpace(lane, () => {
          l.waitingForSpace = false
          this.#flush()
        })
      }
    }
  }

  counters (): DispatcherCounters {
    const lanes = this.#lanes.map(l => l.stats())
    const total = { ...lanes[0] }
    for (let i = 1; i < lanes.length; i++) {
      for (const key of Object.keys(total) as Array<keyof SendCounters>) total[key] += lanes[i][key]
    }
    return { ...total, state: this.#closed ? 'closed' : 'local', reconnects: 0, lanes }
  }

  /** Idempotent. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const l of this.#lanes) l.discarded += l.queue.clear()
  }
}
