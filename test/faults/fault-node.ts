import { writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient } from '@connectrpc/connect'
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node'
import { TransportService } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import { createMirnetClient } from '../../src/client/client.ts'
import { CLIENT_STREAM_WINDOW_BYTES } from '../../src/client/http2-windows.ts'
import { firstLine, freePort, mirnet, stop } from '../helpers/processes.ts'
import { listenAddress, memberAddress, transportArgs } from './transports.ts'
import type { ChildProcess } from 'node:child_process'
import type { MirnetClient } from '../../src/client/client.ts'
import type { NetHost, NetLab } from '../helpers/netns.ts'
import type { Ready, Scratch } from '../helpers/processes.ts'
import type { DaemonTransport } from '../../src/daemon/daemon.ts'

const UNIX_BRIDGE = fileURLToPath(new URL('../helpers/unix-bridge.ts', import.meta.url))

/** Port every daemon in a namespace listens on (each namespace has its own ports). */
export const NETNS_P2P_PORT = 4001

export interface FaultNodeInit {
  nodeId: string
  /** Run inside this lab host; otherwise on loopback. */
  lab?: { lab: NetLab, host: NetHost }
  /** More `serve` flags (tunables). */
  args?: string[]
  /** Environment of the daemon process (children inherit it). */
  env?: Record<string, string>
  /** The network transport (`serve --transport`). @default 'libp2p' */
  transport?: DaemonTransport
}

/**
 * One member of a fault test: a key and a fixed listen address that survive
 * restarts, and the `mirnet serve` process currently running with them.
 */
export class FaultNode {
  readonly nodeId: string
  readonly keyFile: string
  readonly peerId: string
  /** Multiaddr other members dial, ending in /p2p/<peer id>. */
  readonly address: string
  readonly #listen: string
  readonly #scratch: Scratch
  readonly #dir: string
  readonly #init: FaultNodeInit
  child?: ChildProcess
  ready?: Ready
  #client?: MirnetClient
  #bridge?: ChildProcess
  #incarnation = 0

  private constructor (scratch: Scratch, dir: string, init: FaultNodeInit, keyFile: string, peerId: string, listen: string, address: string) {
    this.#scratch = scratch
    this.#dir = dir
    this.#init = init
    this.nodeId = init.nodeId
    this.keyFile = keyFile
    this.peerId = peerId
    this.#listen = listen
    this.address = address
  }

  /** A key and an address for a member; nothing runs yet. */
  static async create (scratch: Scratch, init: FaultNodeInit): Promise<FaultNode> {
    const dir = await scratch.dir()
    const keyFile = join(dir, `${init.nodeId}.key`)
    const gen = await mirnet(['keygen', '--out', keyFile])
    if (gen.code !== 0) throw new Error(`keygen failed: ${gen.stderr}`)
    const peerId = gen.stdout.trim()
    const transport = init.transport ?? 'libp2p'
    if (init.lab !== undefined) {
      const listen = listenAddress(transport, '0.0.0.0', NETNS_P2P_PORT)
      return new FaultNode(scratch, dir, init, keyFile, peerId, listen, memberAddress(transport, init.lab.host.ip, NETNS_P2P_PORT, peerId))
    }
    const port = await freePort()
    return new FaultNode(scratch, dir, init, keyFile, peerId, listenAddress(transport, '127.0.0.1', port), memberAddress(transport, '127.0.0.1', port, peerId))
  }

  /** Write the membership file every member starts with. */
  static async membershipFile (scratch: Scratch, nodes: FaultNode[]): Promise<string> {
    const file = join(await scratch.dir(), 'membership.json')
    await writeFile(file, JSON.stringify({ nodes: nodes.map(n => ({ id: n.nodeId, address: n.address })) }))
    return file
  }

  get pid (): number {
    const pid = this.child?.pid
    if (pid === undefined || this.child?.exitCode !== null) throw new Error(`${this.nodeId} is not running`)
    return pid
  }

  get running (): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  /** The API client of the running daemon. */
  get client (): MirnetClient {
    if (this.#client === undefined) throw new Error(`${this.nodeId} has no API client: not started`)
    return this.#client
  }

  /** Start `mirnet serve` with this key and address; resolves at its ready line. */
  async start (membershipFile?: string): Promise<Ready> {
    if (this.running) throw new Error(`${this.nodeId} is already running`)
    const args = [
      'serve', '--node-id', this.nodeId, '--key-file', this.keyFile, '--listen', this.#listen,
      '--api', '127.0.0.1:0', '--log-level', 'warn', ...transportArgs(this.#init.transport ?? 'libp2p'), ...(this.#init.args ?? [])
    ]
    if (membershipFile !== undefined) args.push('--membership', membershipFile)
    const prefix = this.#init.lab === undefined ? [] : this.#init.lab.lab.exec(this.#init.lab.host)
    const child = this.#scratch.spawn(args, this.#init.env, prefix)
    this.child = child
    const ready = await firstLine<Ready>(child)
    this.ready = ready
    this.#client = await this.#connectClient(ready.api)
    return ready
  }

  async #connectClient (api: string): Promise<MirnetClient> {
    const lab = this.#init.lab
    if (lab === undefined) return createMirnetClient(api)
    // the API listens on the namespace's loopback: reach it through a Unix socket
    const socket = join(this.#dir, `api-${++this.#incarnation}.sock`)
    this.#bridge = await this.#startBridge(lab, api, socket)
    const sessionManager = new Http2SessionManager('http://localhost', undefined, {
      settings: { initialWindowSize: CLIENT_STREAM_WINDOW_BYTES },
      createConnection: () => connect(socket)
    })
    return createClient(TransportService, createGrpcTransport({ baseUrl: 'http://localhost', sessionManager }))
  }

  async #startBridge (lab: { lab: NetLab, host: NetHost }, api: string, socket: string): Promise<ChildProcess> {
    const bridge = this.#scratch.spawnCommand(lab.lab.exec(lab.host)[0], [...lab.lab.exec(lab.host).slice(1), process.execPath, UNIX_BRIDGE, socket, api])
    await firstLine(bridge)
    return bridge
  }

  /** Signal the daemon and resolve with its exit code (null when killed by the signal). */
  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child
    if (child === undefined) return null
    const code = await stop(child, signal)
    // a restart gets a new API port: the bridge goes with the daemon
    if (this.#bridge !== undefined) {
      await stop(this.#bridge, 'SIGKILL')
      this.#bridge = undefined
    }
    return code
  }
}
