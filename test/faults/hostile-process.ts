import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'
import type { HostileTask } from './hostile-peer.ts'
import type { HostileTlsTask } from './hostile-tls-peer.ts'

/** The libp2p peer, and the TLS and gRPC one (tasks that name a `transport`). */
const LIBP2P_SCRIPT = fileURLToPath(new URL('./hostile-peer.ts', import.meta.url))
const TLS_SCRIPT = fileURLToPath(new URL('./hostile-tls-peer.ts', import.meta.url))

/** One JSON line a hostile peer printed. */
export interface PeerEvent {
  event: string
  [field: string]: unknown
}

/** A hostile-peer.ts (or, for a task on TLS or gRPC, hostile-tls-peer.ts) process and the events it printed. */
export class HostilePeer {
  readonly child: ChildProcess
  readonly events: PeerEvent[] = []
  #stderr = ''
  readonly #waiters = new Set<() => void>()

  constructor (task: HostileTask | HostileTlsTask, prefix: string[] = []) {
    const argv = [...prefix, process.execPath, 'transport' in task ? TLS_SCRIPT : LIBP2P_SCRIPT, JSON.stringify(task)]
    // stdin stays open: its end tells the peer to stop, should this process die first
    this.child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stderr?.on('data', (d: Buffer) => { this.#stderr += d.toString() })
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', line => {
      this.events.push(JSON.parse(line) as PeerEvent)
      for (const wake of this.#waiters) wake()
    })
    this.child.once('exit', () => { for (const wake of this.#waiters) wake() })
  }

  /** The first event named `name` (or `error`, which rejects), within `timeoutMs`. */
  async next (name: string, timeoutMs: number): Promise<PeerEvent> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.events.find(e => e.event === name || e.event === 'error')
      if (found?.event === 'error') throw new Error(`hostile peer failed: ${String(found.name)}: ${String(found.message)}`)
      if (found !== undefined) return found
      if (this.child.exitCode !== null) throw new Error(`hostile peer exited with ${this.child.exitCode} before "${name}"; stderr: ${this.#stderr}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no "${name}" from the hostile peer within ${timeoutMs} ms; stderr: ${this.#stderr}`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(done, left)
        function done (): void { clearTimeout(timer); waiters.delete(done); resolve() }
        const waiters = this.#waiters
        waiters.add(done)
      })
    }
  }

  /** Stop it (SIGTERM; SIGKILL after 10 s) and wait for its exit. Idempotent. */
  async stop (): Promise<void> {
    const child = this.child
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 10_000)
    await exited
    clearTimeout(timer)
  }
}

/** Resident set size of a process, in bytes (Linux). */
export async function rssBytes (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status)
  if (m === null) throw new Error(`no VmRSS in /proc/${pid}/status`)
  return Number(m[1]) * 1024
}
