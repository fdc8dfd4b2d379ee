/**
 * The sender's keepalive rule, apart from its timer: given what a link has
 * heard and when, is the peer unresponsive? Pure; the Dispatcher runs it on
 * every tick of the node's keepalive ticker.
 */

export interface KeepaliveConfig {
  /** Outstanding messages (or an unanswered hello) with no progress for this long: unresponsive. */
  timeoutMs: number
  /** The receiver acks at least this often when idle; three intervals of silence: unresponsive. */
  idleIntervalMs: number
}

/** What the keepalive knows of one link at a check. */
export interface KeepaliveView {
  /** When anything was last heard from the receiver. */
  lastHeardMs: number
  /** When the receiver last acknowledged more, or said a lane is held (see OutboundLink). */
  lastProgressMs: number
  /** The receiver answered the hello. */
  answered: boolean
  /** Messages written and not acknowledged. */
  unconfirmed: number
  /** When the oldest of them was written; undefined when none. */
  oldestUnacknowledgedMs: number | undefined
}

/**
 * Why the peer behind `link` counts as unresponsive at `nowMs`, or undefined
 * while it does not:
 * - nothing heard for three idle intervals (a cut of an idle link);
 * - outstanding messages or an unanswered hello, and no progress for the timeout (a cut under traffic);
 * - acks still coming but the oldest outstanding message older than the
 *   timeout and no progress for half of it (its data cut one way).
 */
export function unresponsiveReason (nowMs: number, link: KeepaliveView, config: KeepaliveConfig): string | undefined {
  const silenceMs = 3 * config.idleIntervalMs
  const silentMs = nowMs - link.lastHeardMs
  const stuckMs = link.unconfirmed > 0 || !link.answered ? nowMs - link.lastProgressMs : 0
  const oldest = link.oldestUnacknowledgedMs
  const oneWay = oldest !== undefined && nowMs - oldest > config.timeoutMs && stuckMs > config.timeoutMs / 2
  if (silentMs <= silenceMs && stuckMs <= config.timeoutMs && !oneWay) return undefined
  if (silentMs > silenceMs) return `nothing heard from the peer for ${silentMs} ms`
  if (!link.answered) return `the peer did not answer the hello for ${stuckMs} ms`
  return `the peer acknowledged none of ${link.unconfirmed} messages for ${stuckMs} ms without saying it is holding them`
}

/**
 * How long this process was stalled before a check that came at `nowMs`
 * instead of `lastCheckMs + periodMs` (0 when on time, within one period):
 * what arrived meanwhile is read only after the timers run, so a stall of
 * the process must not count as silence of the peer.
 */
export function stalledMs (nowMs: number, lastCheckMs: number, periodMs: number): number {
  const late = nowMs - lastCheckMs - periodMs
  return late > periodMs ? late : 0
}
