import type { DispatcherCounters } from './dispatcher.ts'
import type { SendOutcome } from './peer-stats.ts'

/**
 * What the NetworkModule asks of the sender to one member: a Dispatcher
 * over the transport, or the LocalDispatcher for the node itself.
 */
export interface MemberSender {
  readonly nodeId: string
  /** The link is up (always, for the node itself until closed). */
  readonly isOpen: boolean
  /** Queue `payload` on `lane`; never blocks, never fails for a full queue (drop-oldest). */
  enqueue: (payload: Uint8Array, lane: number) => SendOutcome
  /** The member's address changed: redial there. */
  setAddress: (address: string) => void
  /** The member opened a stream to this node: stop waiting before the first own dial. */
  peerDialed: () => void
  counters: () => DispatcherCounters
  /** Discard what is queued (counted) and stop. Idempotent. */
  close: () => Promise<void>
}
