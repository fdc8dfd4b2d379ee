import { request } from 'node:http'
import { join } from 'node:path'
import { eventually } from '../helpers/wait.ts'
import { goBuild, goInstalled } from '../helpers/go.ts'
import { etcdRaftGopath, etcdRaftUnavailableReason } from '../helpers/etcd-raft.ts'
import { NetLab } from '../helpers/netns.ts'
import { firstLine, stop } from '../helpers/processes.ts'
import { FaultNode } from './fault-node.ts'
import type { ChildProcess } from 'node:child_process'
import type { NetHost } from '../helpers/netns.ts'
import type { Scratch } from '../helpers/processes.ts'

/**
 * A raft-kv cluster for the fault tests: member i (raft id i, mirnet node
 * n<i>) is a lab host running a `mirnet serve` daemon and the Go raft-kv
 * node beside it; the node's HTTP front end listens on a Unix socket, which
 * the test reaches whatever the lab network does.
 */

export const RAFT_KV_MAIN = 'github.com/mirnet/mirnet/examples/raft-kv'

/** Why the raft-kv tests cannot run here (no Go, no etcd raft), or undefined. */
export function raftKvUnavailableReason (): string | undefined {
  if (!goInstalled()) return 'Go is not installed (see .ci/run)'
  return etcdRaftUnavailableReason()
}

/** Build examples/raft-kv into `dir`; resolves with the binary's path. */
export async function buildRaftKv (dir: string): Promise<string> {
  const out = join(dir, 'raft-kv')
  await goBuild({ main: RAFT_KV_MAIN, out, extraGopath: [await etcdRaftGopath()] })
  return out
}

/** GET /status of a node. */
export interface RaftStatus {
  id: number
  state: 'StateFollower' | 'StateCandidate' | 'StateLeader' | 'StatePreCandidate'
  leader: number
  term: number
  commit: number
  applied: number
  firstIndex: number
  lastIndex: number
  keys: number
  hash: string
  restarted: boolean
  snapshotsApplied: number
  snapshotsMade: number
  snapshotsSent: number
  reportedUnreachable: number
  /** Proposals forwarded to this node that raft did not take within a tick (it knew no leader), dropped. */
  forwardedProposalsDropped: number
  transport: Record<string, number>
}

export interface RaftClusterInit {
  size: number
  binary: string
  /** raft-kv flags beyond the cluster's own. */
  nodeArgs?: string[]
}

/** How often a waiting test polls /status. */
const POLL_MS = 20

export class RaftMember {
  readonly id: number
  readonly daemon: FaultNode
  readonly host: NetHost
  readonly socket: string
  readonly dataDir: string
  node?: ChildProcess
  stderr = ''

  constructor (id: number, daemon: FaultNode, host: NetHost, dir: string) {
    this.id = id
    this.daemon = daemon
    this.host = host
    this.socket = join(dir, `n${id}-http.sock`)
    this.dataDir = join(dir, `n${id}-data`)
  }

  get name (): string { return `n${this.id}` }

  async status (): Promise<RaftStatus> {
    const res = await http(this.socket, 'GET', '/status')
    if (res.code !== 200) throw new Error(`${this.name} /status: ${res.code} ${res.body}`)
    return JSON.parse(res.body) as RaftStatus
  }

  /** PUT; resolves with whether the put was committed (and applied here) within timeoutMs. */
  async put (key: string, value: string, timeoutMs = 5_000): Promise<boolean> {
    const res = await http(this.socket, 'PUT', `/kv/${encodeURIComponent(key)}?timeoutMs=${timeoutMs}`, value)
    if (res.code === 204) return true
    if (res.code === 503) return false
    throw new Error(`${this.name} PUT ${key}: ${res.code} ${res.body}`)
  }

  async get (key: string): Promise<string | undefined> {
    const res = await http(this.socket, 'GET', `/kv/${encodeURIComponent(key)}`)
    if (res.code === 404) return undefined
    if (res.code !== 200) throw new Error(`${this.name} GET ${key}: ${res.code} ${res.body}`)
    return res.body
  }
}

export class RaftCluster {
  readonly lab: NetLab
  readonly members: RaftMember[]
  readonly #scratch: Scratch
  readonly #init: RaftClusterInit
  readonly #membership: string

  private constructor (scratch: Scratch, init: RaftClusterInit, lab: NetLab, members: RaftMember[], membership: string) {
    this.#scratch = scratch
    this.#init = init
    this.lab = lab
    this.members = members
    this.#membership = membership
  }

  /** A lab host, a daemon and a raft-kv node per member, all started. Destroy the lab after the test. */
  static async start (scratch: Scratch, init: RaftClusterInit): Promise<RaftCluster> {
    const lab = await NetLab.create()
    try {
      const dir = await scratch.dir()
      const hosts: NetHost[] = []
      for (let i = 0; i < init.size; i++) hosts.push(await lab.addHost())
      const daemons = await Promise.all(hosts.map(async (host, i) => await FaultNode.create(scratch, { nodeId: `n${i + 1}`, lab: { lab, host } })))
      const membership = await FaultNode.membershipFile(scratch, daemons)
      const members = daemons.map((d, i) => new RaftMember(i + 1, d, hosts[i], dir))
      const cluster = new RaftCluster(scratch, init, lab, members, membership)
      await Promise.all(members.map(async m => { await cluster.startMember(m) }))
      return cluster
    } catch (err) {
      await lab.destroy()
      throw err
    }
  }

  /** Start a member's daemon, then its raft-kv node (the node keeps its data folder across restarts). */
  async startMember (m: RaftMember): Promise<void> {
    const ready = await m.daemon.start(this.#membership)
    const lab = this.lab.exec(m.host)
    const args = [
      ...lab.slice(1), this.#init.binary, '-id', String(m.id), '-cluster', this.members.map(x => x.id).join(','),
      '-transport', 'mirnet', '-mirnet-api', ready.api, '-http', `unix:${m.socket}`, '-data-dir', m.dataDir,
      '-tick', '50ms', '-mirnet-status-interval', '50ms', ...(this.#init.nodeArgs ?? [])
    ]
    const child = this.#scratch.spawnCommand(lab[0], args)
    m.stderr = ''
    child.stderr?.on('data', (d: Buffer) => { m.stderr = (m.stderr + d.toString()).slice(-20_000) })
    m.node = child
    await firstLine(child)
  }

  /** SIGKILL a member's node and daemon (its data folder stays). */
  async kill (m: RaftMember): Promise<void> {
    if (m.node !== undefined) await stop(m.node, 'SIGKILL')
    await m.daemon.stop('SIGKILL')
  }

  /** SIGTERM every node, then every daemon; resolves with the nodes' exit codes. */
  async stop (): Promise<Array<number | null>> {
    const codes = await Promise.all(this.members.map(async m => m.node === undefined ? null : await stop(m.node, 'SIGTERM')))
    await Promise.all(this.members.map(async m => await m.daemon.stop()))
    return codes
  }

  /** Poll every member's /status (the `of` members, or all) until `accept` holds; resolves with the ms it took. */
  async waitFor (what: string, accept: (statuses: RaftStatus[]) => boolean, timeoutMs = 20_000, of: RaftMember[] = this.members): Promise<number> {
    const started = performance.now()
    let last: RaftStatus[] = []
    try {
      await eventually(what, async () => (last = await Promise.all(of.map(async m => await m.status()))), accept, { timeoutMs, intervalMs: POLL_MS })
    } catch (err) {
      throw new Error(`${(err as Error).message.replace(/; last seen: .*/, '')}; last: ${JSON.stringify(last.map(s => ({ id: s.id, state: s.state, leader: s.leader, term: s.term, commit: s.commit, applied: s.applied, hash: s.hash })))}\n${of.map(m => `${m.name} stderr: ${m.stderr.slice(-2000)}`).join('\n')}`)
    }
    return performance.now() - started
  }

  /** Wait for one leader that all `of` agree on; resolves with it. */
  async leader (of: RaftMember[] = this.members, timeoutMs = 20_000): Promise<RaftMember> {
    let leader = 0
    await this.waitFor('an agreed leader', s => {
      const l = s.find(x => x.state === 'StateLeader')
      if (l === undefined || !s.every(x => x.leader === l.id && x.term === l.term)) return false
      leader = l.id
      return true
    }, timeoutMs, of)
    return this.members[leader - 1]
  }

  /** Wait until `of` have applied the same index (at least `atLeast`) and have the same state hash. */
  async converged (of: RaftMember[] = this.members, atLeast = 0, timeoutMs = 20_000): Promise<{ ms: number, status: RaftStatus }> {
    let status: RaftStatus | undefined
    const ms = await this.waitFor(`applied index ≥ ${atLeast} and the same hash on ${of.map(m => m.name).join(', ')}`, s => {
      if (!s.every(x => x.applied === s[0].applied && x.hash === s[0].hash && x.applied >= atLeast)) return false
      status = s[0]
      return true
    }, timeoutMs, of)
    return { ms, status: status as RaftStatus }
  }
}

/**
 * `count` puts with `inFlight` outstanding, round-robin over `through`;
 * resolves with how many committed and the commits per second.
 */
export async function putMany (through: RaftMember[], count: number, options: { prefix: string, inFlight?: number, timeoutMs?: number }): Promise<{ committed: number, perSec: number }> {
  const inFlight = options.inFlight ?? 32
  let next = 0
  let committed = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) {
      const i = next++
      if (await through[i % through.length].put(`${options.prefix}-${i}`, `v${i}`, options.timeoutMs)) committed++
    }
  }))
  return { committed, perSec: committed / ((performance.now() - started) / 1000) }
}

async function http (socketPath: string, method: string, path: string, body?: string): Promise<{ code: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, agent: false, headers: body === undefined ? {} : { 'content-length': Buffer.byteLength(body) } }, res => {
      let data = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { data += c })
      res.on('end', () => { resolve({ code: res.statusCode ?? 0, body: data }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}
