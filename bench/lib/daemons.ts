import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMirnetClient } from '../../src/client/client.ts'
import { BIN, firstLine, stop } from '../../test/helpers/processes.ts'
import type { Ready } from '../../test/helpers/processes.ts'
import type { ChildProcess } from 'node:child_process'
import type { MirnetClient } from '../../src/client/client.ts'

export { cpuSeconds } from './cpu-time.ts'

export interface DaemonProcess {
  nodeId: string
  peerId: string
  /** The first libp2p listen multiaddr, with /p2p/. */
  address: string
  /** API host:port. */
  api: string
  child: ChildProcess
  client: MirnetClient
  /** State folder (its key is `<dir>/<nodeId>.key`), removed by `stop()`. */
  dir: string
  /** SIGTERM, wait for the exit; resolves with the exit code. */
  stop: () => Promise<number | null>
  /** SIGKILL, wait for the exit (the state folder is kept: restart with `restartDaemon`). */
  kill: () => Promise<void>
}

export interface StartOptions {
  /** Extra `mirnet serve` flags (tunables, --listen …). */
  args?: string[]
  /** Reuse a state folder (same key). */
  dir?: string
  /** Node flags before the script (`--trace-gc`, `--import` a probe …). */
  nodeArgs?: string[]
}

/**
 * How long a daemon may take to print its ready line: a start-up is mostly
 * loading and compiling modules, which takes seconds when other daemons start
 * at the same time and npm test's other files share the cores.
 */
const READY_TIMEOUT_MS = 60_000

/** Start `mirnet serve` as a child process and wait for its ready line. */
export async function startDaemon (nodeId: string, options: StartOptions = {}): Promise<DaemonProcess> {
  const dir = options.dir ?? await mkdtemp(join(tmpdir(), 'mirnet-bench-'))
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, 'serve', '--node-id', nodeId, '--state-dir', dir, '--api', '127.0.0.1:0', '--log-level', 'warn', ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const ready = await firstLine<Ready>(child, READY_TIMEOUT_MS).catch((err: Error) => {
    throw new Error(`daemon ${nodeId} was not ready: ${err.message}`)
  })
  return {
    nodeId,
    peerId: ready.peerId,
    address: ready.listen[0],
    api: ready.api,
    child,
    client: createMirnetClient(ready.api),
    dir,
    stop: async () => {
      const code = await stop(child, 'SIGTERM')
      await rm(dir, { recursive: true, force: true })
      return code
    },
    kill: async () => { await stop(child, 'SIGKILL') }
  }
}

/** Start a daemon again with the key of one that was killed, listening on the same address. */
export async function restartDaemon (old: DaemonProcess, options: StartOptions = {}): Promise<DaemonProcess> {
  const listen = old.address.replace(/\/p2p\/[^/]+$/, '')
  return await startDaemon(old.nodeId, { dir: old.dir, args: ['--listen', listen, ...(options.args ?? [])] })
}

/** Apply the membership of all `daemons` to each, and wait until each sees all connected. */
export async function connectAll (daemons: DaemonProcess[], timeoutMs = 30_000): Promise<void> {
  const nodes = daemons.map(d => ({ id: d.nodeId, address: d.address }))
  await Promise.all(daemons.map(async d => await d.client.connect({ nodes })))
  await Promise.all(daemons.map(async d => await d.client.awaitConnections({ minConnected: daemons.length }, { timeoutMs })))
}

/** RSS of a process in MB, from /proc. */
export async function rssMb (pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises')
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const m = /VmRSS:\s+(\d+) kB/.exec(status)
  return m === null ? Number.NaN : Number(m[1]) / 1024
}
