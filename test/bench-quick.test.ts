import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from '@jest/globals'
import { run } from './helpers/processes.ts'
import { goInstalled } from './helpers/go.ts'
import { etcdRaftUnavailableReason } from './helpers/etcd-raft.ts'

const BENCH = fileURLToPath(new URL('../bench/bench.ts', import.meta.url))
/** raft needs Go and etcd raft (see .ci/run); CI requires them (MIRNET_REQUIRE_GO), elsewhere raft reports nothing without them. */
const RAFT = process.env.MIRNET_REQUIRE_GO === '1' || (goInstalled() && etcdRaftUnavailableReason() === undefined)
const SCENARIOS = ['link', 'api-e2e', 'api-unary', 'latency', 'hol', 'wan', 'fan-out', 'dead-peer-memory', 'reconnect', 'scale', ...(RAFT ? ['raft'] : [])]
const BASELINES: Record<string, string[]> = { link: ['raw-tcp', 'raw-tcp-batched', 'libp2p-per-message'], 'api-unary': ['grpc-js'], hol: ['single-lane'], wan: ['mirnet-window-unbounded'], ...(RAFT ? { raft: ['direct-tcp'] } : {}) }
/** Rows whose system is not `mirnet` itself but a named mirnet configuration or transport. */
const MIRNET_ROWS: Record<string, string[]> = { link: ['mirnet', 'mirnet-tls', 'mirnet-grpc'], hol: ['mirnet', 'mirnet-idle-link'], wan: ['mirnet-window-default'] }
/** The transports the link and scale rows name: plain `mirnet` is libp2p. */
const TRANSPORT_SYSTEMS = ['mirnet', 'mirnet-tls', 'mirnet-grpc']
const FIGURES = ['payloadBytes', 'msgsPerSec', 'mbPerSec', 'p50Ms', 'p99Ms', 'rssMb', 'seconds', 'rttMs', 'droppedMessages']

interface Report {
  machine: Record<string, unknown>
  results: Array<Record<string, unknown>>
}

describe('npm run bench -- --quick --json FILE', () => {
  it('runs every scenario and writes sane figures', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mirnet-bench-'))
    try {
      const file = join(dir, 'bench.json')
      const res = await run(process.execPath, [BENCH, '--quick', '--json', file], { timeoutMs: 600_000 })
      expect(res.stderr).not.toMatch(/Error|error:/)
      expect(res.code).toBe(0)
      const report = JSON.parse(await readFile(file, 'utf8')) as Report
      expect(report.machine).toMatchObject({ cpus: expect.any(Number), node: process.version, quick: true })
      expect(new Set(report.results.map(r => r.scenario))).toEqual(new Set(SCENARIOS))
      for (const r of report.results) {
        expect(SCENARIOS).toContain(r.scenario)
        expect(typeof r.system).toBe('string')
        const figures = FIGURES.filter(f => f in r && f !== 'payloadBytes')
        expect(figures.length).toBeGreaterThan(0)
        for (const f of FIGURES) {
          if (!(f in r)) continue
          expect(Number.isFinite(r[f])).toBe(true)
          expect(r[f] as number).toBeGreaterThanOrEqual(0)
        }
      }
      for (const [scenario, baselines] of Object.entries(BASELINES)) {
        const systems = report.results.filter(r => r.scenario === scenario).map(r => r.system)
        for (const system of [...(MIRNET_ROWS[scenario] ?? ['mirnet']), ...baselines]) expect(systems).toContain(system)
      }
      // link: every system at both payload sizes, each with a rate
      const link = report.results.filter(r => r.scenario === 'link')
      for (const system of [...TRANSPORT_SYSTEMS, ...BASELINES.link]) {
        expect(link.filter(r => r.system === system).map(r => r.payloadBytes)).toEqual([256, 64 * 1024])
      }
      for (const r of link) expect(r.msgsPerSec as number).toBeGreaterThan(0)
      // the TLS row at 256 B is judged against the batched socket, at 64 KiB against raw-tcp
      const tlsNote = (bytes: number): string => String(link.find(r => r.system === 'mirnet-tls' && r.payloadBytes === bytes)?.note)
      expect(tlsNote(256)).toMatch(/× raw-tcp-batched \(target ≥ 0\.5: (met|MISSED)\)/)
      expect(tlsNote(64 * 1024)).toMatch(/× raw-tcp \(target ≥ 0\.8: (met|MISSED)\)/)
      // scale: a Connect and an idle row per transport, each system naming its transport
      const scale = report.results.filter(r => r.scenario === 'scale').map(r => String(r.system))
      expect(scale.sort()).toEqual(TRANSPORT_SYSTEMS.flatMap(t => [`${t} 8 daemons: Connect`, `${t} 8 daemons: idle`]).sort())
      // hol: vote latency and bulk rate for both bulk sizes; no vote lost on the control lane
      const hol = report.results.filter(r => r.scenario === 'hol')
      expect(hol.filter(r => r.system === 'mirnet').map(r => r.payloadBytes)).toEqual([64 * 1024, 1024 * 1024])
      for (const r of hol) {
        expect(r.p99Ms).toEqual(expect.any(Number))
        if (r.system !== 'mirnet-idle-link') expect(r.mbPerSec as number).toBeGreaterThan(0)
        if (r.system !== 'single-lane') expect(r.droppedMessages).toBe(0)
      }
      // wan: both windows at each RTT, through the delay proxies
      const wan = report.results.filter(r => r.scenario === 'wan')
      expect(wan.map(r => `${String(r.system)}@${String(r.rttMs)}`).sort()).toEqual(
        [0, 50, 100].flatMap(rtt => [`mirnet-window-default@${rtt}`, `mirnet-window-unbounded@${rtt}`]).sort())
      for (const r of wan) expect(r.mbPerSec as number).toBeGreaterThan(0)
      // the table went to stdout
      expect(res.stdout).toMatch(/^scenario\s+system/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 610_000)
})
