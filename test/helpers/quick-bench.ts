import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from '@jest/globals'
import { run } from './processes.ts'
import { goInstalled } from './go.ts'
import { etcdRaftUnavailableReason } from './etcd-raft.ts'

export const BENCH = fileURLToPath(new URL('../../bench/bench.ts', import.meta.url))
/** raft needs Go and etcd raft (see .ci/run); CI requires them (MIRNET_REQUIRE_GO), elsewhere raft reports nothing without them. */
export const RAFT = process.env.MIRNET_REQUIRE_GO === '1' || (goInstalled() && etcdRaftUnavailableReason() === undefined)
/** A quick run of a few scenarios, on 2 cores shared with the rest of npm test. */
export const QUICK_BENCH_TIMEOUT_MS = 600_000

const FIGURES = ['payloadBytes', 'msgsPerSec', 'mbPerSec', 'p50Ms', 'p99Ms', 'rssMb', 'cpuPercent', 'seconds', 'rttMs', 'droppedMessages', 'cpuCeilingMsgsPerSec']

export type Row = Record<string, unknown>
export interface QuickReport {
  machine: Record<string, unknown>
  results: Row[]
  stdout: string
}

/**
 * `npm run bench -- --quick --only <scenarios> --json FILE`: exits 0 with
 * nothing on stderr that looks like an error, prints the table, and writes
 * a report of those scenarios only, every figure finite and >= 0.
 */
export async function quickBench (scenarios: string[]): Promise<QuickReport> {
  const dir = await mkdtemp(join(tmpdir(), 'mirnet-bench-'))
  try {
    const file = join(dir, 'bench.json')
    const res = await run(process.execPath, [BENCH, '--quick', '--only', scenarios.join(','), '--json', file], { timeoutMs: QUICK_BENCH_TIMEOUT_MS - 10_000 })
    expect(res.stderr).not.toMatch(/Error|error:/)
    expect(res.code).toBe(0)
    expect(res.stdout).toMatch(/^scenario\s+system/)
    const report = JSON.parse(await readFile(file, 'utf8')) as QuickReport
    expect(report.machine).toMatchObject({ cpus: expect.any(Number), node: process.version, quick: true })
    expect(new Set(report.results.map(r => r.scenario))).toEqual(new Set(scenarios))
    for (const r of report.results) {
      expect(typeof r.system).toBe('string')
      expect(FIGURES.filter(f => f in r && f !== 'payloadBytes').length).toBeGreaterThan(0)
      for (const f of FIGURES) {
        if (!(f in r)) continue
        expect(Number.isFinite(r[f])).toBe(true)
        expect(r[f] as number).toBeGreaterThanOrEqual(0)
      }
    }
    return { ...report, stdout: res.stdout }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** The systems of a scenario's rows. */
export function systemsOf (report: QuickReport, scenario: string): string[] {
  return report.results.filter(r => r.scenario === scenario).map(r => String(r.system))
}

/** The scenarios `bench.ts --help` lists. */
export async function benchScenarios (): Promise<string[]> {
  const res = await run(process.execPath, [BENCH, '--help'], { timeoutMs: 60_000 })
  expect(res.code).toBe(0)
  return [...res.stdout.split('Scenarios:')[1].matchAll(/^ {2}(\S+)/gm)].map(m => m[1])
}

/**
 * The scenarios of `npm run bench`, in the groups that npm test runs as
 * separate files (test/bench/*.test.ts), so that jest spreads them over its
 * workers; test/bench/groups.test.ts checks that they cover every scenario.
 */
export const QUICK_GROUPS = {
  transports: ['link', 'scale'],
  api: ['api-e2e', 'api-unary', 'latency', 'fan-out'],
  lanes: ['hol', 'wan', 'reconnect', 'dead-peer-memory'],
  raft: ['raft']
} as const satisfies Record<string, readonly string[]>
