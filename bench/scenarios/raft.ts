/**
 * raft: examples/raft-kv (etcd raft 3.4 in Go) with three members on
 * loopback. `mirnet`: each node drives its own daemon through the generated
 * Go client (SendStream, per-lane Receive). `direct-tcp`: the same program
 * with `-transport direct`, length-prefixed frames on one TCP connection per
 * peer, what a Go team writes without mirnet. The leader runs IN_FLIGHT
 * proposers (its /bench endpoint) that each put a value and wait until the
 * leader applied it: commits/s and commit latency. The WAL is not fsynced
 * (-fsync=false) so that the figure is the transport's, not the disk's.
 * `mirnet-go-rtt`: what the daemon hop costs without raft, a Go client's
 * message through two daemons and back (bench/go/pingpong, one in flight).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { connectAll, startDaemon } from '../lib/daemons.ts'
import { alternate, median, round } from '../lib/stats.ts'
import { firstLine, freePort, stop } from '../../test/helpers/processes.ts'
import { goBuild, goInstalled } from '../../test/helpers/go.ts'
import { etcdRaftGopath, etcdRaftUnavailableReason } from '../../test/helpers/etcd-raft.ts'
import type { ChildProcess } from 'node:child_process'
import type { DaemonProcess } from '../lib/daemons.ts'
import type { BenchResult, Scenario, ScenarioContext } from '../lib/types.ts'

const MEMBERS = 3
const IN_FLIGHT = 64
const VALUE_BYTES = 128
type System = 'mirnet' | 'direct-tcp'
const execFileAsync = promisify(execFile)

interface BenchFigures { commits: number, failed: number, seconds: number, commitsPerSec: number, p50Ms: number, p99Ms: number }

async function run (ctx: ScenarioContext): Promise<BenchResult[]> {
  const why = goInstalled() ? etcdRaftUnavailableReason() : 'Go is not installed'
  if (why !== undefined) {
    ctx.progress(`not run: ${why}`)
    return []
  }
  const rounds = ctx.quick ? 1 : 5
  const seconds = ctx.quick ? 1 : 5
  const dir = await mkdtemp(join(tmpdir(), 'mirnet-bench-raft-'))
  try {
    ctx.progress('building examples/raft-kv and bench/go/pingpong')
    const binary = join(dir, 'raft-kv')
    const pingBinary = join(dir, 'pingpong')
    await Promise.all([
      goBuild({ main: 'github.com/mirnet/mirnet/examples/raft-kv', out: binary, extraGopath: [await etcdRaftGopath()] }),
      goBuild({ main: 'github.com/mirnet/mirnet/bench/go/pingpong', out: pingBinary })
    ])
    const figures: Record<System, BenchFigures[]> = { mirnet: [], 'direct-tcp': [] }
    let n = 0
    const measure = async (system: System): Promise<number> => {
      const f = await withCluster(binary, join(dir, `run-${++n}`), system, async leaderSocket => {
        // a warm-up, then the measured run
        await benchOn(leaderSocket, ctx.quick ? 0.3 : 1)
        return await benchOn(leaderSocket, seconds)
      })
      figures[system].push(f)
      return f.commitsPerSec
    }
    const rates = await alternate(rounds, { mirnet: async () => await measure('mirnet'), 'direct-tcp': async () => await measure('direct-tcp') },
      (r, system, value) => { ctx.progress(`round ${r + 1}/${rounds} ${system}: ${Math.round(value)} commits/s`) })
    const p50 = (s: System): number => median(figures[s].map(f => f.p50Ms))
    ctx.progress('Go ping-pong through two daemons')
    const rtt = await pingPong(pingBinary, seconds)
    const rows: BenchResult[] = (['mirnet', 'direct-tcp'] as const).map(system => ({
      scenario: 'raft' as const,
      system,
      payloadBytes: VALUE_BYTES,
      msgsPerSec: round(median(rates[system]), 0),
      p50Ms: round(p50(system)),
      p99Ms: round(median(figures[system].map(f => f.p99Ms))),
      seconds,
      note: system === 'mirnet'
        ? `${MEMBERS} members, ${IN_FLIGHT} proposals in flight on the leader, median of ${rounds}; ${round(median(rates.mirnet) / median(rates['direct-tcp']), 2)}x direct-tcp commits/s, ${round(p50('mirnet') / p50('direct-tcp'), 2)}x its p50`
        : `same raft-kv, -transport direct (TCP between the Go processes); median of ${rounds}`
    }))
    rows.push({
      scenario: 'raft',
      system: 'mirnet-go-rtt',
      payloadBytes: PING_BYTES,
      msgsPerSec: round(rtt.perSec, 0),
      p50Ms: round(rtt.p50Ms),
      p99Ms: round(rtt.p99Ms),
      seconds,
      note: 'round trip Go SendStream -> daemon A -> libp2p -> daemon B -> Receive -> Go echo -> B -> A -> Go, one in flight (bench/go/pingpong): the daemon hop without raft'
    })
    return rows
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Three members (and, for mirnet, three daemons) for the length of `f`, given the leader's HTTP socket. */
async function withCluster<T> (binary: string, dir: string, system: System, f: (leaderSocket: string) => Promise<T>): Promise<T> {
  const daemons: DaemonProcess[] = []
  const nodes: ChildProcess[] = []
  try {
    const ids = Array.from({ length: MEMBERS }, (_, i) => i + 1)
    const args: string[][] = []
    if (system === 'mirnet') {
      daemons.push(...await Promise.all(ids.map(async id => await startDaemon(`n${id}`, { args: ['--listen', '/ip4/127.0.0.1/tcp/0'] }))))
      await connectAll(daemons)
      for (const d of daemons) args.push(['-transport', 'mirnet', '-mirnet-api', d.api])
    } else {
      const ports = await Promise.all(ids.map(async () => await freePort()))
      const peers = ids.map((id, i) => `${id}=127.0.0.1:${ports[i]}`).join(',')
      for (const port of ports) args.push(['-transport', 'direct', '-direct-listen', `127.0.0.1:${port}`, '-direct-peers', peers])
    }
    const sockets = ids.map(id => join(dir, `n${id}.sock`))
    for (const [i, id] of ids.entries()) {
      const child = spawn(binary, ['-id', String(id), '-cluster', ids.join(','), '-http', `unix:${sockets[i]}`, '-data-dir', join(dir, `n${id}`), '-fsync=false', '-tick', '50ms', ...args[i]], { stdio: ['ignore', 'pipe', 'inherit'] })
      nodes.push(child)
      await firstLine(child)
    }
    return await f(sockets[(await leaderOf(sockets)) - 1])
  } finally {
    await Promise.all(nodes.map(async c => await stop(c, 'SIGTERM')))
    await Promise.all(daemons.map(async d => await d.stop()))
  }
}

const PING_BYTES = 256

/** Round trips of bench/go/pingpong (built at `binary`) through two fresh daemons, one in flight. */
async function pingPong (binary: string, seconds: number): Promise<{ perSec: number, p50Ms: number, p99Ms: number }> {
  const daemons = await Promise.all(['n1', 'n2'].map(async id => await startDaemon(id, { args: ['--listen', '/ip4/127.0.0.1/tcp/0'] })))
  try {
    await connectAll(daemons)
    const { stdout } = await execFileAsync(binary, ['-a', daemons[0].api, '-b', daemons[1].api, '-a-node', 'n1', '-b-node', 'n2', '-bytes', String(PING_BYTES), '-in-flight', '1', '-seconds', String(seconds)], { timeout: (seconds + 30) * 1000 })
    return JSON.parse(stdout) as { perSec: number, p50Ms: number, p99Ms: number }
  } finally {
    await Promise.all(daemons.map(async d => await d.stop()))
  }
}

async function leaderOf (sockets: string[]): Promise<number> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    const s = await Promise.all(sockets.map(async socket => JSON.parse(await get(socket, '/status')) as { state: string, id: number, leader: number }))
    const l = s.find(x => x.state === 'StateLeader')
    if (l !== undefined && s.every(x => x.leader === l.id)) return l.id
    await sleep(20)
  }
  throw new Error('raft-kv elected no leader within 30 s')
}

async function benchOn (socket: string, seconds: number): Promise<BenchFigures> {
  const f = JSON.parse(await get(socket, `/bench?seconds=${seconds}&inFlight=${IN_FLIGHT}&valueBytes=${VALUE_BYTES}`)) as BenchFigures
  if (f.failed > 0) throw new Error(`raft-kv bench: ${f.failed} proposals not committed`)
  return f
}

async function get (socketPath: string, path: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    request({ socketPath, path, agent: false }, res => {
      let data = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { data += c })
      res.on('end', () => { res.statusCode === 200 ? resolve(data) : reject(new Error(`GET ${path}: ${res.statusCode} ${data}`)) })
    }).on('error', reject).end()
  })
}

export const scenario: Scenario = {
  name: 'raft',
  description: `examples/raft-kv (etcd raft, Go), ${MEMBERS} members: commits/s and commit latency over mirnet vs a direct TCP transport`,
  run
}
