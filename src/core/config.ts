import * as C from './constants.ts'
import { InvalidConfigError } from './errors.ts'
import { DEFAULT_LANE, DEFAULT_LANES, laneNumber, resolveLanes } from './lanes.ts'
import type { Lane, LaneInit } from './lanes.ts'

/** Tunables of the networking module; every field is optional. */
export interface NetworkModuleInit {
  /**
   * The lanes, top priority first (see lanes.ts).
   * @default control (strict), consensus (weight 4), bulk (weight 1)
   */
  lanes?: LaneInit[]
  /**
   * The lane of messages sent without one.
   * @default 'consensus'
   */
  defaultLane?: string
  /**
   * Messages per lane and member written and not yet acknowledged, for lanes that do not set their own.
   * @default 4096
   */
  windowMessages?: number
  /**
   * Payload bytes per lane and member written and not yet acknowledged, for
   * lanes that do not set their own; on a long link the window grows to
   * 2 × bandwidth × round trip, up to the lane's queue bytes (WindowEstimator).
   * @default 256 KiB
   */
  windowBytes?: number
  /**
   * Messages larger than this are written in chunks of this size, interleaved with other lanes.
   * @default 16 KiB
   */
  chunkBytes?: number
  /**
   * Messages queued per lane and destination before the oldest is dropped,
   * for lanes that do not set their own.
   * @default 512
   */
  queueCapacity?: number
  /**
   * Payload bytes queued per lane and destination before the oldest is dropped, for lanes that do not set their own; at least `maxFrameBytes`.
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
   * Received messages held per lane for consumers; past it, the lane gives
   * its senders no credit, so their queues drop oldest, while the other
   * lanes flow.
   * @default 4096
   */
  inboxCapacity?: number
  /**
   * A lane whose consumer falls behind by more than this is paced: its
   * credit keeps the backlog near what the consumer takes in this time (see
   * inbox-credit.ts), so a slow consumer reads messages about this old.
   * @default 100
   */
  inboxTargetMs?: number
  /**
   * The credit a paced lane gives at least, and where every lane starts.
   * @default 32
   */
  inboxMinCredit?: number
  /**
   * Received payload bytes held per lane for consumers (see `inboxCapacity`).
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

type NumericSettings = Required<Omit<NetworkModuleInit, 'lanes' | 'defaultLane'>>

export type NetworkModuleConfig = NumericSettings & {
  lanes: Lane[]
  /** Number of the default lane. */
  defaultLane: number
}

const DEFAULTS: NumericSettings = {
  windowMessages: C.DEFAULT_WINDOW_MESSAGES,
  windowBytes: C.DEFAULT_WINDOW_BYTES,
  chunkBytes: C.DEFAULT_CHUNK_BYTES,
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
  inboxTargetMs: C.DEFAULT_INBOX_TARGET_MS,
  inboxMinCredit: C.DEFAULT_INBOX_MIN_CREDIT,
  tentativeMaxReceivers: C.DEFAULT_TENTATIVE_MAX_RECEIVERS,
  tentativeMaxMessages: C.DEFAULT_TENTATIVE_MAX_MESSAGES,
  tentativeMaxBytes: C.DEFAULT_TENTATIVE_MAX_BYTES,
  closeGraceMs: 500
}

/** Settings where 0 means "off". */
const MAY_BE_ZERO: ReadonlySet<keyof NumericSettings> = new Set(['dialYieldMs'])

/** Fill in defaults and check every value; the caller's object is not touched. */
export function resolveConfig (init: NetworkModuleInit = {}): NetworkModuleConfig {
  const config: NumericSettings = { ...DEFAULTS }
  for (const key of Object.keys(DEFAULTS) as Array<keyof NumericSettings>) {
    const value = init[key]
    if (value === undefined) continue
    const zeroAllowed = MAY_BE_ZERO.has(key)
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
      throw new InvalidConfigError(`${key} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number, got ${String(value)}`)
    }
    config[key] = value
  }
  for (const key of ['queueCapacity', 'inboxCapacity', 'inboxMinCredit', 'tentativeMaxReceivers', 'tentativeMaxMessages', 'windowMessages', 'windowBytes', 'chunkBytes'] as const) {
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
  if (config.chunkBytes > config.coalesceBytes) {
    throw new InvalidConfigError(`chunkBytes (${config.chunkBytes}) must be at most coalesceBytes (${config.coalesceBytes})`)
  }
  const lanes = resolveLanes(init.lanes ?? DEFAULT_LANES, config, config.maxFrameBytes)
  const defaultName = init.defaultLane ??
    (lanes.some(l => l.name === DEFAULT_LANE) ? DEFAULT_LANE : (lanes.find(l => !l.strict) ?? lanes[0]).name)
  let defaultLane: number
  try {
    defaultLane = laneNumber(lanes, defaultName, -1)
  } catch {
    throw new InvalidConfigError(`defaultLane "${defaultName}" is not one of the lanes (${lanes.map(l => l.name).join(', ')})`)
  }
  if (defaultLane < 0) throw new InvalidConfigError('defaultLane must name a lane')
  return { ...config, lanes, defaultLane }
}
