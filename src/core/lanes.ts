import { InvalidConfigError, UnknownLaneError } from './errors.ts'

/**
 * Lanes: every message travels on one. Per member each lane has its own
 * bounded drop-oldest queue and its own in-flight window, so no lane can
 * evict or stall another's messages; the Dispatcher serves strict lanes
 * first and shares the link among the others by weight (LaneScheduler).
 * Lanes are numbered on the wire (0-7) in the order configured, top
 * priority first; names are for the API. Members should share one lane
 * configuration.
 */

export const MAX_LANES = 8

/** How one lane is configured; unset numbers take the module-wide defaults. */
export interface LaneInit {
  /** API name: letters, digits, `-` and `_`, at most 32 characters. */
  name: string
  /** Served before every non-strict lane (a starvation guard lets the others through). */
  strict?: boolean
  /** Share of the link among the non-strict lanes (1-1000). @default 1 */
  weight?: number
  /** Messages queued per member before the oldest is dropped. */
  queueCapacity?: number
  /** Payload bytes queued per member before the oldest is dropped. */
  queueMaxBytes?: number
  /** Messages written per member and not yet acknowledged, at most. */
  windowMessages?: number
  /** Payload bytes written per member and not yet acknowledged, at most (one chunk may pass it). */
  windowBytes?: number
}

/** A lane with every setting resolved. */
export interface Lane {
  /** Wire number, the index in the configuration. */
  readonly number: number
  readonly name: string
  readonly strict: boolean
  /** 0 for strict lanes. */
  readonly weight: number
  readonly queueCapacity: number
  readonly queueMaxBytes: number
  readonly windowMessages: number
  readonly windowBytes: number
}

export interface LaneDefaults {
  queueCapacity: number
  queueMaxBytes: number
  windowMessages: number
  windowBytes: number
}

/**
 * The default lanes, fit for consensus: `control` (strict: votes, timeouts,
 * view changes), `consensus` (proposals and the default for messages that
 * name no lane), `bulk` (blocks, state sync), sharing 4:1.
 */
export const DEFAULT_LANES: readonly LaneInit[] = [
  { name: 'control', strict: true },
  { name: 'consensus', weight: 4 },
  { name: 'bulk', weight: 1 }
]
export const DEFAULT_LANE = 'consensus'

const NAME = /^[A-Za-z0-9_-]{1,32}$/

/** Check and complete a lane configuration. Throws `InvalidConfigError`. */
export function resolveLanes (inits: readonly LaneInit[], defaults: LaneDefaults, maxFrameBytes: number): Lane[] {
  if (!Array.isArray(inits) || inits.length === 0 || inits.length > MAX_LANES) {
    throw new InvalidConfigError(`between 1 and ${MAX_LANES} lanes are needed, got ${Array.isArray(inits) ? inits.length : String(inits)}`)
  }
  const seen = new Set<string>()
  return inits.map((init, number) => {
    const name = init.name
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new InvalidConfigError(`lane ${number}: name must be 1-32 letters, digits, "-" or "_", got ${JSON.stringify(name)}`)
    }
    if (seen.has(name)) throw new InvalidConfigError(`lane "${name}" is configured twice`)
    seen.add(name)
    const strict = init.strict === true
    const weight = strict ? 0 : (init.weight ?? 1)
    if (!strict && (!Number.isInteger(weight) || weight < 1 || weight > 1000)) {
      throw new InvalidConfigError(`lane "${name}": weight must be an integer 1-1000, got ${String(init.weight)}`)
    }
    const lane: Lane = {
      number,
      name,
      strict,
      weight,
      queueCapacity: init.queueCapacity ?? defaults.queueCapacity,
      queueMaxBytes: init.queueMaxBytes ?? defaults.queueMaxBytes,
      windowMessages: init.windowMessages ?? defaults.windowMessages,
      windowBytes: init.windowBytes ?? defaults.windowBytes
    }
    for (const key of ['queueCapacity', 'queueMaxBytes', 'windowMessages', 'windowBytes'] as const) {
      const v = lane[key]
      if (!Number.isSafeInteger(v) || v < 1) throw new InvalidConfigError(`lane "${name}": ${key} must be a positive integer, got ${String(v)}`)
    }
    if (lane.queueMaxBytes < maxFrameBytes) {
      throw new InvalidConfigError(`lane "${name}": queueMaxBytes (${lane.queueMaxBytes}) must be at least maxFrameBytes (${maxFrameBytes})`)
    }
    return lane
  })
}

/** The lane numbered by `name`; throws `UnknownLaneError`. An empty name is the default lane. */
export function laneNumber (lanes: readonly Lane[], name: string, defaultLane: number): number {
  if (name === '') return defaultLane
  for (let i = 0; i < lanes.length; i++) {
    if (lanes[i].name === name) return i
  }
  throw new UnknownLaneError(name, lanes.map(l => l.name))
}

const SIZE = /^(\d+)(|k|kib|m|mib|g|gib)$/i
const UNITS: Record<string, number> = { '': 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 }

function parseSize (text: string, what: string): number {
  const m = SIZE.exec(text.trim())
  if (m === null) throw new InvalidConfigError(`${what}: expected a number of bytes such as 65536, 64KiB or 4MiB, got "${text}"`)
  return Number(m[1]) * UNITS[m[2].toLowerCase()]
}

function parseCount (text: string, what: string): number {
  if (!/^\d+$/.test(text.trim())) throw new InvalidConfigError(`${what}: expected a whole number, got "${text}"`)
  return Number(text)
}

const SETTINGS: Record<string, { key: keyof LaneInit, parse: (text: string, what: string) => number }> = {
  'queue-messages': { key: 'queueCapacity', parse: parseCount },
  'queue-bytes': { key: 'queueMaxBytes', parse: parseSize },
  'window-messages': { key: 'windowMessages', parse: parseCount },
  'window-bytes': { key: 'windowBytes', parse: parseSize }
}

/**
 * Parse lanes written as `name:strict` or `name:WEIGHT`, comma-separated,
 * top priority first, each optionally followed by `:setting=value` for
 * queue-messages, queue-bytes, window-messages, window-bytes, e.g.
 * `control:strict,consensus:4,bulk:1:window-bytes=4MiB`.
 */
export function parseLaneSpecs (text: string): LaneInit[] {
  const specs = text.split(',').map(s => s.trim()).filter(s => s.length > 0)
  if (specs.length === 0) throw new InvalidConfigError('no lanes given')
  return specs.map(spec => {
    const [name, priority, ...settings] = spec.split(':')
    if (priority === undefined) throw new InvalidConfigError(`lane "${spec}": expected NAME:strict or NAME:WEIGHT`)
    const init: LaneInit = { name }
    if (priority === 'strict') init.strict = true
    else init.weight = parseCount(priority, `lane "${name}" weight`)
    for (const setting of settings) {
      const eq = setting.indexOf('=')
      const known = SETTINGS[eq < 0 ? setting : setting.slice(0, eq)]
      if (eq < 0 || known === undefined) {
        throw new InvalidConfigError(`lane "${name}": unknown setting "${setting}" (known: ${Object.keys(SETTINGS).map(k => `${k}=…`).join(', ')})`)
      }
      (init as unknown as Record<string, number>)[known.key] = known.parse(setting.slice(eq + 1), `lane "${name}" ${setting.slice(0, eq)}`)
    }
    return init
  })
}

/** The lane configuration written as `parseLaneSpecs` reads it. */
export function formatLaneSpecs (lanes: readonly LaneInit[]): string {
  return lanes.map(l => `${l.name}:${l.strict === true ? 'strict' : String(l.weight ?? 1)}`).join(',')
}

/** A set of lanes as a bit mask (bit n: lane number n). */
export const ALL_LANES = (1 << MAX_LANES) - 1

/** The mask of the lanes named; an empty list is every lane. Throws `UnknownLaneError`. */
export function laneMask (lanes: readonly Lane[], names: readonly string[]): number {
  if (names.length === 0) return ALL_LANES
  let mask = 0
  for (const name of names) mask |= 1 << laneNumber(lanes, name, -1)
  return mask
}
