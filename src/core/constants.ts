/**
 * Defaults of the networking module, in one place. Units are in the names.
 */

export const KiB = 1024
export const MiB = 1024 * KiB

/** Messages a Dispatcher queues per destination before dropping the oldest. */
export const DEFAULT_QUEUE_CAPACITY = 512
/** Bytes of payload a Dispatcher queues per destination before dropping the oldest. */
export const DEFAULT_QUEUE_MAX_BYTES = 32 * MiB
/**
 * Bytes written to the transport in one `send()` when several messages are
 * queued. Over libp2p each `send()` is one yamux frame (one window update from
 * the receiver) and one Noise message per 64 KiB: 256 KiB batches cut the
 * per-byte CPU of 64-KiB messages against 64 KiB batches (see bench `link`).
 */
export const DEFAULT_COALESCE_BYTES = 256 * KiB
/**
 * Payloads of at least this many bytes are referenced by a batch, not copied
 * into it; smaller ones are packed with the frame headers into one buffer.
 */
export const FRAME_REFERENCE_MIN_BYTES = 4 * KiB
/** Largest frame payload accepted on the wire and by `send()`. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * MiB
/** Upper bound of the first reconnect delay; later delays double up to the cap. */
export const DEFAULT_RECONNECT_INITIAL_DELAY_MS = 100
/**
 * Cap of the exponential reconnect delay. With full jitter a peer back after a
 * long outage is redialed within this time: 500 ms keeps reconnects under 1 s
 * (bench `reconnect`: median 817 ms, max 1.9 s with a 2 s cap).
 */
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 500
/**
 * How long one dial may take before it counts as failed. Under a burst of
 * handshakes on few cores (32 daemons connecting at once on 2 cores: all
 * within ~5 s) a shorter timeout aborts dials that were progressing, and
 * their redials only add to the burst.
 */
export const DEFAULT_DIAL_TIMEOUT_MS = 10_000
/**
 * Of two members, the one whose identity sorts lower dials first; the other
 * waits up to this long for that stream before its own first dial, so that
 * one connection (one handshake) serves both directions. Two daemons that
 * dial each other at once pay two handshakes, and with many members on few
 * cores the handshakes are what a membership change costs.
 */
export const DEFAULT_DIAL_YIELD_MS = 5_000
/**
 * A receiver paused by a full inbox says so at least this often, so that its
 * sender, which sees no progress, knows it is alive.
 */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 1_000
/**
 * A sender that heard nothing on a stream for this long drops the connection
 * and redials; also when its acks stop advancing while messages are
 * outstanding (a one-way cut). A cut is noticed within about this plus one check (a third of it).
 */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 3_000
/**
 * An idle receiver (nothing new, not paused) acks this often; a sender drops
 * a connection on which it heard nothing for three times this. Links with
 * messages outstanding are watched by ack progress instead, within the
 * keepalive timeout; idle links only need to be found dead eventually, and
 * each keepalive costs a libp2p message both ways (idle CPU with 31 peers).
 */
export const DEFAULT_IDLE_KEEPALIVE_INTERVAL_MS = 5_000
/** A receiver acknowledges new messages at most this long after taking them. */
export const ACK_DELAY_MS = 20
/** Messages held per lane for consumers before the lane gives no more credit. */
export const DEFAULT_INBOX_CAPACITY = 4_096
/** Payload bytes held per lane for consumers before the lane gives no more credit. */
export const DEFAULT_INBOX_MAX_BYTES = 64 * MiB
/** A consumer behind by more than this paces its lane (inbox-credit.ts). */
export const DEFAULT_INBOX_TARGET_MS = 100
/** The least credit of a paced lane, and every lane's first. */
export const DEFAULT_INBOX_MIN_CREDIT = 32
/** Inbound streams from non-members kept at once; one more evicts the oldest. */
export const DEFAULT_TENTATIVE_MAX_RECEIVERS = 16
/** Most recent messages a tentative receiver keeps. */
export const DEFAULT_TENTATIVE_MAX_MESSAGES = 256
/** Payload bytes a tentative receiver keeps. */
export const DEFAULT_TENTATIVE_MAX_BYTES = 4 * MiB
/**
 * Messages per lane and member written and not yet acknowledged, at most. A
 * receiver acks at least every ACK_EVERY_MESSAGES messages, so the window
 * keeps the link busy while acks are on their way.
 */
export const DEFAULT_WINDOW_MESSAGES = 4_096
/**
 * Payload bytes per lane and member written and not yet acknowledged, at
 * most (one chunk may pass it), on a short link; on a long one the window
 * grows to 2 × bandwidth × RTT (WindowEstimator). Bounds what sits in
 * transport and socket buffers, and in the receiver's backlog, ahead of a
 * higher lane's message: a vote behind a saturating bulk lane waits behind
 * at most this much. Sized by the `hol` scenario (BENCHMARKS.md): 128 KiB
 * kept votes as fast as on an idle link but cost bulk 20-30% of its
 * throughput; 256 KiB kept bulk within 0.86-0.97× of one shared lane.
 */
export const DEFAULT_WINDOW_BYTES = 256 * KiB
/** Messages larger than this are written in chunks of this size, interleaved with other lanes. */
export const DEFAULT_CHUNK_BYTES = 16 * KiB
/** A strict lane that has written this much in a row lets one chunk of another lane through. */
export const STRICT_BURST_BYTES = 256 * KiB
/** A receiver acks at once when a lane has this many bytes unacknowledged. */
export const ACK_EVERY_BYTES = 16 * KiB
/** A receiver acks at once when a lane has this many messages unacknowledged. */
export const ACK_EVERY_MESSAGES = 64
