/**
 * The receiver's keepalive rule, apart from its timer: a receiver writes
 * acks at least every `keepaliveIntervalMs` while one of its lanes is held
 * (so the sender sees the hold is alive and does not count it as a cut),
 * and at least every `idleKeepaliveIntervalMs` otherwise (the sender's
 * keepalive takes three of those of silence for a cut: see keepalive.ts).
 * Pure; the Receiver runs it from its one keepalive timer.
 */

export interface AckKeepaliveConfig {
  /** Ack at least this often while a lane is held. */
  keepaliveIntervalMs: number
  /** Ack at least this often otherwise. */
  idleKeepaliveIntervalMs: number
}

/** A timer may fire this much early, or the next check be this close, and still count as due. */
export const ACK_KEEPALIVE_SLACK_MS = 10

/** How long a receiver may go without writing, with or without a held lane. */
export function ackIntervalMs (held: boolean, config: AckKeepaliveConfig): number {
  return held ? config.keepaliveIntervalMs : config.idleKeepaliveIntervalMs
}

/** Whether a keepalive ack is due at `nowMs` when the receiver last wrote at `lastWriteMs`. */
export function keepaliveAckDue (nowMs: number, lastWriteMs: number, held: boolean, config: AckKeepaliveConfig): boolean {
  return nowMs - lastWriteMs >= ackIntervalMs(held, config) - ACK_KEEPALIVE_SLACK_MS
}

/** In how many ms to look again: when the next keepalive ack would be due, and never sooner than the slack. */
export function nextKeepaliveCheckMs (nowMs: number, lastWriteMs: number, held: boolean, config: AckKeepaliveConfig): number {
  return Math.max(ACK_KEEPALIVE_SLACK_MS, lastWriteMs + ackIntervalMs(held, config) - nowMs)
}
