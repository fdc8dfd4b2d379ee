import { DropOldestQueue } from './drop-oldest-queue.ts'
import type { Inbox } from './inbox.ts'
import type { LinkState, SendCounters, SendOutcome } from './peer-stats.ts'

/**
 * The own node's path: messages to self go from a bounded drop-oldest queue
 * straight into the inbox, without the network. When the inbox is full the
 * queue holds them (and drops its oldest), as a remote peer's queue would.
 */
export class LocalDispatcher {
  readonly nodeId: string
  readonly address: string
  readonly #inbox: Inbox
  readonly #queue: DropOldestQueue<Uint8Array>
  #scheduled = false
  #waitingForSpace = false
  #closed = false
  #sentMessages = 0
  #sentBytes = 0
  #discarded = 0

  constructor (inbox: Inbox, init: { nodeId: string, address: string, queueCapacity: number, queueMaxBytes: number }) {
    this.nodeId = init.nodeId
    this.address = init.address
    this.#inbox = inbox
    this.#queue = new DropOldestQueue(init.queueCapacity, init.queueMaxBytes)
  }

  get isOpen (): boolean { return !this.#closed }

  enqueue (payload: Uint8Array): SendOutcome {
    const dropped = this.#queue.push(payload)
    if (!this.#scheduled && !this.#waitingForSpace && !this.#closed) {
      this.#scheduled = true
      queueMicrotask(this.#flush)
    }
    return dropped === 0 ? 'queued' : 'dropped-oldest'
  }

  readonly #flush = (): void => {
    this.#scheduled = false
    this.#waitingForSpace = false
    if (this.#closed) return
    const queue = this.#queue
    const inbox = this.#inbox
    while (queue.length > 0 && !inbox.full) {
      const payload = queue.shift() as Uint8Array
      inbox.push(this.nodeId, payload)
      this.#sentMessages++
      this.#sentBytes += payload.byteLength
    }
    if (queue.length > 0) {
      this.#waitingForSpace = true
      inbox.whenSpace(this.#flush)
    }
  }

  counters (): SendCounters & { state: LinkState, reconnects: number } {
    return {
      state: this.#closed ? 'closed' : 'local',
      queued: this.#queue.length,
      queuedBytes: this.#queue.byteLength,
      sentMessages: this.#sentMessages,
      sentBytes: this.#sentBytes,
      droppedMessages: this.#queue.dropped,
      droppedBytes: this.#queue.droppedBytes,
      acknowledgedMessages: this.#sentMessages,
      lostInFlightMessages: 0,
      unconfirmedMessages: 0,
      discardedMessages: this.#discarded,
      reconnects: 0
    }
  }

  /** Idempotent. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#discarded += this.#queue.clear()
  }
}
