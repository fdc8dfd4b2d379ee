/**
 * Defaults of the networking module, in one place. Units are in the names.
 */

/** libp2p protocol id of the mirnet wire format (see docs/wire-format.md). */
export const PROTOCOL_ID = '/mirnet/1.0.0'

export const KiB = 1024
export const MiB = 1024 * KiB

/** Messages a Dispatcher queues per destination before dropping the oldest. */
export const DEFAULT_QUEUE_CAPACITY = 512
/** Bytes of payload a Dispatcher queues per destination before dropping the oldest. */
export const DEFAULT_QUEUE_MAX_BYTES = 32 * MiB
/** Bytes written to the transport in one `send()` when several messages are queued. */
export const DEFAULT_COALESCE_BYTES = 64 * KiB
/** Largest frame payload accepted on the wire and by `send()`. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * MiB
/** Upper bound of the first reconnect delay; later delays double up to the cap. */
export const DEFAULT_RECONNECT_INITIAL_DELAY_MS = 100
/** Cap of the exponential reconnect delay. */
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 2_000
/** How long one dial may take before it counts as failed. */
export const DEFAULT_DIAL_TIMEOUT_MS = 5_000
/** Messages held for consumers before Receivers pause their streams. */
export const DEFAULT_INBOX_CAPACITY = 4_096
/** Payload bytes held for consumers before Receivers pause their streams. */
export const DEFAULT_INBOX_MAX_BYTES = 64 * MiB
/** Inbound streams from non-members kept at once; one more evicts the oldest. */
export const DEFAULT_TENTATIVE_MAX_RECEIVERS = 16
/** Most recent messages a tentative receiver keeps. */
export const DEFAULT_TENTATIVE_MAX_MESSAGES = 256
/** Payload bytes a tentative receiver keeps. */
export const DEFAULT_TENTATIVE_MAX_BYTES = 4 * MiB
