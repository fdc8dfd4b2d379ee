/** One figure of one system in one scenario, as written to the JSON report. */
export interface BenchResult {
  scenario: ScenarioName
  /** `mirnet` or the baseline's name. */
  system: string
  payloadBytes?: number
  msgsPerSec?: number
  mbPerSec?: number
  p50Ms?: number
  p99Ms?: number
  rssMb?: number
  /** CPU per process, percent of one core (scenario `scale`: idle daemons). */
  cpuPercent?: number
  seconds?: number
  /** CPU time (user + system) per delivered message, µs, by process of the path (`client A`, `daemon A` …; scenario `api-e2e`). */
  cpuUsPerMsg?: Record<string, number>
  /** Cores × 1e6 / the sum of `cpuUsPerMsg`: the rate the path's CPU cost allows on this machine. */
  cpuCeilingMsgsPerSec?: number
  /** Round-trip time added to the link (scenario `wan`). */
  rttMs?: number
  /** Messages lost (dropped or not delivered), where a scenario counts them (`hol`: votes). */
  droppedMessages?: number
  /** Anything a reader needs to interpret the figure (rate offered, rounds, …). */
  note?: string
}

export type ScenarioName = 'link' | 'api-e2e' | 'api-unary' | 'latency' | 'hol' | 'wan' | 'fan-out' | 'dead-peer-memory' | 'reconnect' | 'scale' | 'raft'

export interface ScenarioContext {
  /** Short run (the whole suite under 2 minutes), for tests and smoke checks. */
  quick: boolean
  /** One line of progress for the display (stderr). */
  progress: (message: string) => void
}

export interface Scenario {
  name: ScenarioName
  /** What is measured and against which baseline, one line. */
  description: string
  run: (ctx: ScenarioContext) => Promise<BenchResult[]>
}
