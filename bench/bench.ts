/**
 * The mirnet benchmark suite: every scenario measures mirnet and its baseline
 * in the same run, alternating rounds, and reports medians.
 *
 *   npm run bench                         full run (about 20 minutes)
 *   npm run bench -- --quick              short run (under 2 minutes)
 *   npm run bench -- --json FILE          also write the figures as JSON
 *   npm run bench -- --only link,latency  some scenarios only
 *
 * Progress goes to stderr; the table, then the transports side by side, to stdout.
 */
import { writeFile } from 'node:fs/promises'
import { cpus, totalmem, release, platform } from 'node:os'
import { parseArgs } from 'node:util'
import { transportSummary } from './lib/transport-summary.ts'
import { SCENARIOS } from './scenarios/index.ts'
import type { BenchResult } from './lib/types.ts'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  }
})

if (values.help === true) {
  process.stdout.write(`Usage: npm run bench -- [--quick] [--json FILE] [--only a,b]\n\nScenarios:\n${SCENARIOS.map(s => `  ${s.name.padEnd(18)} ${s.description}`).join('\n')}\n`)
  process.exit(0)
}

const only = values.only?.split(',').map(s => s.trim())
const unknown = only?.filter(n => !SCENARIOS.some(s => s.name === n)) ?? []
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map(s => s.name).join(', ')}\n`)
  process.exit(2)
}
const selected = SCENARIOS.filter(s => only === undefined || only.includes(s.name))
const quick = values.quick === true
const started = Date.now()
const results: BenchResult[] = []

for (const [i, scenario] of selected.entries()) {
  const prefix = `[${i + 1}/${selected.length}] ${scenario.name}`
  process.stderr.write(`${prefix}: ${scenario.description}\n`)
  const t0 = Date.now()
  const progress = (message: string): void => {
    process.stderr.write(`${prefix} (${((Date.now() - t0) / 1000).toFixed(0)} s): ${message}\n`)
  }
  results.push(...await scenario.run({ quick, progress }))
}

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGb: Math.round(totalmem() / 2 ** 30),
  platform: `${platform()} ${release()}`,
  node: process.version,
  quick,
  date: new Date().toISOString(),
  seconds: Math.round((Date.now() - started) / 1000)
}

process.stdout.write(table(results))
const summary = transportSummary(results)
if (summary !== undefined) process.stdout.write(`\nTransports side by side (each transport's figure, then its ratio to the column's baseline):\n${summary}`)
if (values.json !== undefined) {
  await writeFile(values.json, JSON.stringify({ machine, results }, null, 2) + '\n')
  process.stderr.write(`bench: wrote ${values.json}\n`)
}

function table (rows: BenchResult[]): string {
  const cols: Array<[string, (r: BenchResult) => string]> = [
    ['scenario', r => r.scenario],
    ['system', r => r.system],
    ['payload', r => r.payloadBytes === undefined ? '' : String(r.payloadBytes)],
    ['rtt ms', r => r.rttMs === undefined ? '' : String(r.rttMs)],
    ['msgs/s', r => r.msgsPerSec === undefined ? '' : Math.round(r.msgsPerSec).toLocaleString('en-US')],
    ['MB/s', r => r.mbPerSec === undefined ? '' : r.mbPerSec.toFixed(1)],
    ['p50 ms', r => r.p50Ms === undefined ? '' : r.p50Ms.toFixed(3)],
    ['p99 ms', r => r.p99Ms === undefined ? '' : r.p99Ms.toFixed(3)],
    ['RSS MB', r => r.rssMb === undefined ? '' : r.rssMb.toFixed(0)],
    ['lost', r => r.droppedMessages === undefined ? '' : String(r.droppedMessages)],
    ['seconds', r => r.seconds === undefined ? '' : r.seconds.toFixed(3)],
    ['note', r => r.note ?? '']
  ]
  const cells = [cols.map(c => c[0]), ...rows.map(r => cols.map(c => c[1](r)))]
  const widths = cols.map((_, i) => Math.max(...cells.map(row => row[i].length)))
  return cells.map(row => row.map((c, i) => i < 2 || i === cols.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join('  ').trimEnd()).join('\n') + '\n'
}
