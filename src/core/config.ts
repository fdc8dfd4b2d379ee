import * as C from './constants.ts'
import { InvalidConfigError } from './errors.ts'

/** Tunables of the networking module; every field is optional. */
export interface NetworkModuleInit {
  /**
   * Messages queued per destination before the oldest is dropped.
   * @default 512
   */
  queueCapacity?: number
  /**
   * Payload bytes queued per destination before the oldest is dropped; at least `maxFrameBytes`.
   * @default 32 MiB
   */
  queueMaxBytes?: number
  /**
   * Bytes written in one `send()` when several messages are queued.
   * @default 256 KiB
   */
  coalesceBytes?: number
  /**
   * Largest payload accepted by `send()` and on the wire.
   * @default 16 MiB
   */
  maxFrameBytes?: number
  /**
   * Upper bound of the first reconnect delay (ms); the bound doubles per attempt.
   * @default 100
   */
  reconnectInitialDelayMs?: number
  /**
   * Cap of the reconnect delay (ms).
   * @default 500
   */
  reconnectMaxDelayMs?: number
  /**
   * Time one dial may take (ms).
   * @default 10000
   */
  dialTimeoutMs?: number
  /**
   * Of two members, the one whose identity sorts lower dials first; the other
   * waits up to this long (ms) for that member's stream before its own first
   * dial, so that one connection serves both directions. 0 dials at once.
   * @default 5000
   */
  dialYieldMs?: number
  /**
   * A receiver paused by a full inbox acks at least this often (ms), to show it is alive.
   * @default 1000
   */
  keepaliveIntervalMs?: number
  /**
   * An idle receiver acks this often (ms); a sender drops a connection on
   * which it heard nothing for three times this. At least `keepaliveIntervalMs`.
   * @default 5000
   */
  idleKeepaliveIntervalMs?: number
  /**
   * A sender with messages outstanding drops a connection whose acks showed
   * no progress for this long (ms): a cut, one-way or both, under traffic.
   * At least 3 × `keepaliveIntervalMs`.
   * @default 3000
   */
  keepaliveTimeoutMs?: number
  /**
   * Received messages held for consumers before Receivers pause their streams.
   * @default 4096
   */
  inboxCapacity?: number
  /**
   * Received payload bytes held for consumers before Receivers pause.
   * @default 64 MiB
   */
  inboxMaxBytes?: number
  /**
   * Inbound streams from non-members kept at once.
   * @default 16
   */
  tentativeMaxReceivers?: number
  /**
   * Most recent messages a tentative receiver keeps.
   * @default 256
   */
  tentativeMaxMessages?: number
  /**
   * Payload bytes a tentative receiver keeps.
   * @default 4 MiB
   */
  tentativeMaxBytes?: number
  /**
   * How long closing a connection waits for its write buffer to go out (ms).
   * @default 500
   */
  closeGraceMs?: number
}

export type NetworkModuleConfig = Required<NetworkModuleInit>

const DEFAULTS: NetworkModuleConfig = {
  queueCapacity: C.DEFAULT_QUEUE_CAPACITY,
  queueMaxBytes: C.DEFAULT_QUEUE_MAX_BYTES,
  coalesceBytes: C.DEFAULT_COALESCE_BYTES,
  maxFrameBytes: C.DEFAULT_MAX_FRAME_BYTES,
  reconnectInitialDelayMs: C.DEFAULT_RECONNECT_INITIAL_DELAY_MS,
  reconnectMaxDelayMs: C.DEFAULT_RECONNECT_MAX_DELAY_MS,
  dialTimeoutMs: C.DEFAULT_DIAL_TIMEOUT_MS,
  dialYieldMs: C.DEFAULT_DIAL_YIELD_MS,
  keepaliveIntervalMs: C.DEFAULT_KEEPALIVE_INTERVAL_MS,
  idleKeepaliveIntervalMs: C.DEFAULT_IDLE_KEEPALIVE_INTERVAL_MS,
  keepaliveTimeoutMs: C.DEFAULT_KEEPALIVE_TIMEOUT_MS,
  inboxCapacity: C.DEFAULT_INBOX_CAPACITY,
  inboxMaxBytes: C.DEFAULT_INBOX_MAX_BYTES,
  tentativeMaxReceivers: C.DEFAULT_TENTATIVE_MAX_RECEIVERS,
  tentativeMaxMessages: C.DEFAULT_TENTATIVE_MAX_MESSAGES,
  tentativeMaxBytes: C.DEFAULT_TENTATIVE_MAX_BYTES,
  closeGraceMs: 500
}

/** Settings where 0 means "off". */
const MAY_BE_ZERO: ReadonlySet<keyof NetworkModuleConfig> = new Set(['dialYieldMs'])

/** Fill in defaults and check every value; the caller's object is not touched. */
export function resolveConfig (init: NetworkModuleInit = {}): NetworkModuleConfig {
  const config: NetworkModuleConfig = { ...DEFAULTS }
  for (const key of Object.keys(DEFAULTS) as Array<keyof NetworkModuleConfig>) {
    const value = init[key]
    if (value === undefined) continue
    const zeroAllowed = MAY_BE_ZERO.has(key)
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
      throw new InvalidConfigError(`${key} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number, got ${String(value)}`)
    }
    config[key] = value
  }
  for (const key of ['queueCapacity', 'inboxCapacity', 'tentativeMaxReceivers', 'tentativeMaxMessages'] as const) {
    if (!Number.isInteger(config[key])) throw new InvalidConfigError(`${key} must be an integer, got ${config[key]}`)
  }
  if (config.queueMaxBytes < config.maxFrameBytes) {
    throw new InvalidConfigError(`queueMaxBytes (${config.queueMaxBytes}) must be at least maxFrameBytes (${config.maxFrameBytes})`)
  }
  if (config.reconnectMaxDelayMs < config.reconnectInitialDelayMs) {
    throw new InvalidConfigError(`reconnectMaxDelayMs (${config.reconnectMaxDelayMs}) must be at least reconnectInitialDelayMs (${config.reconnectInitialDelayMs})`)
  }
  // a paused receiver shows progress once per interval; half the timeout must cover that with room
  if (config.keepaliveTimeoutMs < 3 * config.keepaliveIntervalMs) {
    throw new InvalidConfigError(`keepaliveTimeoutMs (${config.keepaliveTimeoutMs}) must be at least 3 × keepaliveIntervalMs (${config.keepaliveIntervalMs})`)
  }
  if (config.idleKeepaliveIntervalMs < config.keepaliveIntervalMs) {
    throw new InvalidConfigError(`idleKeepaliveIntervalMs (${config.idleKeepaliveIntervalMs}) must be at least keepaliveIntervalMs (${config.keepaliveIntervalMs})`)
  }
  return config
}
