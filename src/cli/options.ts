import { InvalidArgumentError, Option } from 'commander'
import type { Command } from 'commander'
import type { NetworkModuleInit } from '../core/config.ts'
import * as C from '../core/constants.ts'
import { InvalidConfigError } from '../core/errors.ts'
import { DEFAULT_LANE, DEFAULT_LANES, formatLaneSpecs, parseLaneSpecs } from '../core/lanes.ts'
import type { LaneInit } from '../core/lanes.ts'

/** A commander argument parser for integers of at least `min` (`what` names them in the error). */
function integerAtLeast (min: number, what: string): (value: string) => number {
  return value => {
    const n = Number(value)
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected a ${what} integer, got "${value}"`)
    return n
  }
}

export const positiveInt = integerAtLeast(1, 'positive')
export const nonNegativeInt = integerAtLeast(0, 'non-negative')

export function port (value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port number 0-65535, got "${value}"`)
  return n
}

/** `host:port` or `[v6]:port`. */
export function hostPort (value: string): { host: string, port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value)
  if (m === null) throw new InvalidArgumentError(`expected HOST:PORT, got "${value}"`)
  return { host: m[1] ?? m[2], port: port(m[3]) }
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 }

/** A duration such as `500ms`, `1s`, `1.5s` or `2m` (a bare number is seconds), in milliseconds. */
export function durationMs (value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim())
  if (m === null) throw new InvalidArgumentError(`expected a duration such as 500ms, 1s or 2m, got "${value}"`)
  return Number(m[1]) * DURATION_UNITS_MS[m[2] ?? 's']
}

/** Comma-separated list (for environment variables) or repeated flags. */
export function list (value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map(s => s.trim()).filter(s => s.length > 0)]
}

/** `--lanes`: lanes as `parseLaneSpecs` reads them; a bad spec is a one-line argument error. */
export function laneSpecs (value: string): LaneInit[] {
  try {
    return parseLaneSpecs(value)
  } catch (err) {
    if (err instanceof InvalidConfigError) throw new InvalidArgumentError(err.message)
    throw err
  }
}

interface Tunable {
  key: Exclude<keyof NetworkModuleInit, 'lanes' | 'defaultLane'>
  flag: string
  env: string
  help: string
  default: number
  /** 0 is allowed (it turns the feature off). */
  zeroAllowed?: boolean
}

/** The core's tunables as flags and MIRNET_* environment variables, from one table. */
export const TUNABLES: Tunable[] = [
  { key: 'queueCapacity', flag: '--queue-capacity <n>', env: 'MIRNET_QUEUE_CAPACITY', help: 'messages queued per lane and destination before the oldest is dropped, for lanes that set no queue-messages', default: C.DEFAULT_QUEUE_CAPACITY },
  { key: 'queueMaxBytes', flag: '--queue-max-bytes <n>', env: 'MIRNET_QUEUE_MAX_BYTES', help: 'payload bytes queued per lane and destination before the oldest is dropped, for lanes that set no queue-bytes', default: C.DEFAULT_QUEUE_MAX_BYTES },
  { key: 'windowMessages', flag: '--window-messages <n>', env: 'MIRNET_WINDOW_MESSAGES', help: 'messages per lane and member written and not yet acknowledged, at most, for lanes that set no window-messages', default: C.DEFAULT_WINDOW_MESSAGES },
  { key: 'windowBytes', flag: '--window-bytes <n>', env: 'MIRNET_WINDOW_BYTES', help: 'payload bytes per lane and member written and not yet acknowledged, for lanes that set no window-bytes; on a long link the window grows to 2 x bandwidth x round trip, up to the lane queue bytes', default: C.DEFAULT_WINDOW_BYTES },
  { key: 'chunkBytes', flag: '--chunk-bytes <n>', env: 'MIRNET_CHUNK_BYTES', help: 'larger messages are written in chunks of this size, interleaved with other lanes; at most --coalesce-bytes', default: C.DEFAULT_CHUNK_BYTES },
  { key: 'coalesceBytes', flag: '--coalesce-bytes <n>', env: 'MIRNET_COALESCE_BYTES', help: 'bytes written to the network in one go', default: C.DEFAULT_COALESCE_BYTES },
  { key: 'maxFrameBytes', flag: '--max-frame-bytes <n>', env: 'MIRNET_MAX_FRAME_BYTES', help: 'largest payload accepted', default: C.DEFAULT_MAX_FRAME_BYTES },
  { key: 'reconnectInitialDelayMs', flag: '--reconnect-initial-delay-ms <n>', env: 'MIRNET_RECONNECT_INITIAL_DELAY_MS', help: 'bound of the first reconnect delay', default: C.DEFAULT_RECONNECT_INITIAL_DELAY_MS },
  { key: 'reconnectMaxDelayMs', flag: '--reconnect-max-delay-ms <n>', env: 'MIRNET_RECONNECT_MAX_DELAY_MS', help: 'cap of the reconnect delay', default: C.DEFAULT_RECONNECT_MAX_DELAY_MS },
  { key: 'dialTimeoutMs', flag: '--dial-timeout-ms <n>', env: 'MIRNET_DIAL_TIMEOUT_MS', help: 'time one dial may take', default: C.DEFAULT_DIAL_TIMEOUT_MS },
  { key: 'dialYieldMs', flag: '--dial-yield-ms <n>', env: 'MIRNET_DIAL_YIELD_MS', help: 'of two members the lower peer id dials first; the other waits this long for it before its own first dial, so one connection serves both (0: dial at once)', default: C.DEFAULT_DIAL_YIELD_MS, zeroAllowed: true },
  { key: 'keepaliveIntervalMs', flag: '--keepalive-interval-ms <n>', env: 'MIRNET_KEEPALIVE_INTERVAL_MS', help: 'a receiver paused by a full inbox acks at least this often, to show it is alive', default: C.DEFAULT_KEEPALIVE_INTERVAL_MS },
  { key: 'idleKeepaliveIntervalMs', flag: '--idle-keepalive-interval-ms <n>', env: 'MIRNET_IDLE_KEEPALIVE_INTERVAL_MS', help: 'an idle receiver acks this often; a connection silent for 3 times this is dropped', default: C.DEFAULT_IDLE_KEEPALIVE_INTERVAL_MS },
  { key: 'keepaliveTimeoutMs', flag: '--keepalive-timeout-ms <n>', env: 'MIRNET_KEEPALIVE_TIMEOUT_MS', help: 'a sender with messages outstanding and no ack progress for this long drops the connection and redials', default: C.DEFAULT_KEEPALIVE_TIMEOUT_MS },
  { key: 'inboxCapacity', flag: '--inbox-capacity <n>', env: 'MIRNET_INBOX_CAPACITY', help: 'received messages held per lane for Receive streams before that lane gives its senders no more credit', default: C.DEFAULT_INBOX_CAPACITY },
  { key: 'inboxMaxBytes', flag: '--inbox-max-bytes <n>', env: 'MIRNET_INBOX_MAX_BYTES', help: 'received payload bytes held per lane (see --inbox-capacity)', default: C.DEFAULT_INBOX_MAX_BYTES },
  { key: 'inboxTargetMs', flag: '--inbox-target-ms <n>', env: 'MIRNET_INBOX_TARGET_MS', help: 'a lane whose consumer falls behind by more than this gives credit for what the consumer takes in this time, so a slow consumer reads messages about this old and the senders drop their oldest', default: C.DEFAULT_INBOX_TARGET_MS },
  { key: 'inboxMinCredit', flag: '--inbox-min-credit <n>', env: 'MIRNET_INBOX_MIN_CREDIT', help: 'the least credit (messages a sender may write past what was acknowledged) of a lane paced by a slow consumer, and every lane\'s first credit', default: C.DEFAULT_INBOX_MIN_CREDIT },
  { key: 'tentativeMaxReceivers', flag: '--tentative-max-receivers <n>', env: 'MIRNET_TENTATIVE_MAX_RECEIVERS', help: 'inbound streams from non-members kept at once', default: C.DEFAULT_TENTATIVE_MAX_RECEIVERS },
  { key: 'tentativeMaxMessages', flag: '--tentative-max-messages <n>', env: 'MIRNET_TENTATIVE_MAX_MESSAGES', help: 'most recent messages kept per non-member', default: C.DEFAULT_TENTATIVE_MAX_MESSAGES },
  { key: 'tentativeMaxBytes', flag: '--tentative-max-bytes <n>', env: 'MIRNET_TENTATIVE_MAX_BYTES', help: 'payload bytes kept per non-member', default: C.DEFAULT_TENTATIVE_MAX_BYTES }
]

/** The default lanes as `--lanes` reads them. */
export const DEFAULT_LANE_SPECS = formatLaneSpecs(DEFAULT_LANES)

export function addTunables (command: Command): Command {
  command.addOption(new Option('--lanes <spec>', `the lanes, top priority first, comma-separated: NAME:strict (served first) or NAME:WEIGHT (1-1000, share of the link among the non-strict lanes), each optionally followed by :queue-messages=N, :queue-bytes=SIZE, :window-messages=N or :window-bytes=SIZE (SIZE such as 65536, 64KiB, 4MiB); at most 8 lanes, which every member should share (default ${DEFAULT_LANE_SPECS})`).env('MIRNET_LANES').argParser(laneSpecs))
  command.addOption(new Option('--default-lane <name>', `the lane of messages that name none (default ${DEFAULT_LANE}, or else the first non-strict lane)`).env('MIRNET_DEFAULT_LANE'))
  for (const t of TUNABLES) {
    command.addOption(new Option(t.flag, `${t.help} (default ${t.default})`).env(t.env).argParser(t.zeroAllowed === true ? nonNegativeInt : positiveInt))
  }
  return command
}

/** The tunables given on the command line or in the environment. */
export function tunablesFrom (opts: Record<string, unknown>): NetworkModuleInit {
  const init: NetworkModuleInit = {}
  for (const t of TUNABLES) {
    const value = opts[t.key]
    if (typeof value === 'number') init[t.key] = value
  }
  if (Array.isArray(opts.lanes)) init.lanes = opts.lanes as LaneInit[]
  if (typeof opts.defaultLane === 'string') init.defaultLane = opts.defaultLane
  return init
}
