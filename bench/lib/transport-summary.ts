import type { BenchResult } from './types.ts'

/** The transports, by the `system` their rows carry, in the order the summary lists them. */
const TRANSPORTS = [
  { system: 'mirnet', name: 'libp2p' },
  { system: 'mirnet-tls', name: 'TLS' },
  { system: 'mirnet-grpc', name: 'gRPC' }
] as const

/** The baselines, each a row of its own under the transports. */
const BASELINES = ['raw-tcp', 'raw-tcp-batched', 'direct-grpc'] as const

const KIB64 = 64 * 1024

interface Column {
  title: string
  /** The figure of `system` in `rows`, or undefined when the run has none. */
  value: (rows: BenchResult[], system: string) => number | undefined
  format: (value: number) => string
  /** The baseline a transport's figure is divided by. */
  baseline?: string
}

const find = (rows: BenchResult[], scenario: string, system: string, payloadBytes?: number): BenchResult | undefined =>
  rows.find(r => r.scenario === scenario && r.system === system && (payloadBytes === undefined || r.payloadBytes === payloadBytes))

/** The scale rows name their daemon count: `mirnet-tls 32 daemons: Connect`. */
const scaleRow = (rows: BenchResult[], system: string, kind: 'Connect' | 'idle'): BenchResult | undefined =>
  rows.find(r => r.scenario === 'scale' && new RegExp(`^${system} \\d+ daemons: ${kind}$`).test(r.system))

const rate = (v: number): string => Math.round(v).toLocaleString('en-US')

/** The latency rows at the fixed low rate (the other is at half of each system's maximum). */
const lowRateLatency = (rows: BenchResult[], system: string): BenchResult | undefined =>
  rows.find(r => r.scenario === 'latency' && r.system === system && r.note?.startsWith('1000 msg/s') === true)

const COLUMNS: Column[] = [
  { title: 'link 256 B msg/s', value: (rows, s) => find(rows, 'link', s, 256)?.msgsPerSec, format: rate, baseline: 'raw-tcp-batched' },
  { title: 'link 64 KiB MB/s', value: (rows, s) => find(rows, 'link', s, KIB64)?.mbPerSec, format: v => v.toFixed(0), baseline: 'raw-tcp' },
  { title: 'api-e2e 256 B msg/s', value: (rows, s) => find(rows, 'api-e2e', s, 256)?.msgsPerSec, format: rate, baseline: 'direct-grpc' },
  { title: 'api-e2e 64 KiB msg/s', value: (rows, s) => find(rows, 'api-e2e', s, KIB64)?.msgsPerSec, format: rate, baseline: 'direct-grpc' },
  { title: 'latency 1k/s p50 ms', value: (rows, s) => lowRateLatency(rows, s)?.p50Ms, format: v => v.toFixed(2), baseline: 'direct-grpc' },
  { title: 'latency 1k/s p99 ms', value: (rows, s) => lowRateLatency(rows, s)?.p99Ms, format: v => v.toFixed(2), baseline: 'direct-grpc' },
  { title: 'full mesh up s', value: (rows, s) => { const ms = scaleRow(rows, s, 'Connect')?.p99Ms; return ms === undefined ? undefined : ms / 1000 }, format: v => v.toFixed(2) },
  { title: 'idle CPU %/daemon', value: (rows, s) => scaleRow(rows, s, 'idle')?.cpuPercent, format: v => v.toFixed(2) }
]

/**
 * The transports side by side, from the rows of one run: a line per
 * transport and per baseline, a column per figure that the run measured (a
 * run of some scenarios only has fewer columns), each transport's figure
 * followed by its ratio to the column's baseline (the transport's figure
 * over the baseline's: for latency, lower is better). Undefined when the
 * run measured none of these figures.
 */
export function transportSummary (rows: BenchResult[]): string | undefined {
  const columns = COLUMNS.filter(c => [...TRANSPORTS.map(t => t.system), ...BASELINES].some(s => c.value(rows, s) !== undefined))
  if (columns.length === 0) return undefined
  const lines: string[][] = [['transport', ...columns.map(c => c.title)]]
  for (const t of TRANSPORTS) {
    lines.push([`${t.name} (${t.system})`, ...columns.map(c => {
      const v = c.value(rows, t.system)
      if (v === undefined) return '-'
      const base = c.baseline === undefined ? undefined : c.value(rows, c.baseline)
      return base === undefined || base === 0 ? c.format(v) : `${c.format(v)} (${(v / base).toFixed(2)}×)`
    })])
  }
  for (const b of BASELINES) {
    const cells = columns.map(c => c.value(rows, b))
    if (cells.every(v => v === undefined)) continue
    lines.push([`baseline ${b}`, ...cells.map((v, i) => v === undefined ? '-' : columns[i].format(v))])
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map(l => l[i].length)))
  return lines.map(l => l.map((cell, i) => i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])).join('  ').trimEnd()).join('\n') + '\n'
}
