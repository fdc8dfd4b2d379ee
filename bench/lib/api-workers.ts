/**
 * Client processes of the API scenarios, seen from the runner: each worker is
 * a forked `bench/workers/api-*.ts` answering requests over the IPC channel.
 * Every process started here is registered with a `ProcessGroup`, which stops
 * all of them (daemons too) at the end of a scenario, or kills them by PID
 * when something failed.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startDaemon } from './daemons.ts'
import type { ChildProcess } from 'node:child_process'
import type { DaemonProcess, StartOptions } from './daemons.ts'

/** Five daemons and two clients start at once in fan-out; on 2 cores loaded by other work (load average 10) a client took over 15 s. */
const READY_TIMEOUT_MS = 60_000
const CALL_TIMEOUT_MS = 120_000
const STOP_TIMEOUT_MS = 10_000

/** A worker failed a request, or died. */
export class WorkerError extends Error {
  override name = 'WorkerError'
}

/** Messages from a worker: a reply to request `id`, or an event. */
export type FromWorker =
  | { t: 'ready', info?: Record<string, unknown> }
  | { t: 'reply', id: number, result?: unknown, error?: string }
  | { t: 'delivered', total: number }

/** Messages to a worker: a request, or a credit update (no reply). */
export type ToWorker =
  | { t: 'call', id: number, op: string, args: Record<string, unknown> }
  | { t: 'credit', delivered: number }

/** One forked client process. */
export class Worker {
  readonly name: string
  readonly child: ChildProcess
  info: Record<string, unknown> = {}
  #nextId = 1
  readonly #pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }>()
  readonly #exited: Promise<number | null>
  /** Called with each `delivered` event. */
  onDelivered?: (total: number) => void

  constructor (name: string, entry: string) {
    this.name = name
    this.child = fork(fileURLToPath(new URL(`../workers/${entry}`, import.meta.url)), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced'
    })
    this.#exited = new Promise(resolve => this.child.once('exit', code => {
      for (const p of this.#pending.values()) {
        clearTimeout(p.timer)
        p.reject(new WorkerError(`worker ${name} exited with ${code}`))
      }
      this.#pending.clear()
      resolve(code)
    }))
    this.child.on('message', (m: FromWorker) => {
      if (m.t === 'reply') {
        const p = this.#pending.get(m.id)
        if (p === undefined) return
        this.#pending.delete(m.id)
        clearTimeout(p.timer)
        if (m.error !== undefined) p.reject(new WorkerError(`worker ${name}: ${m.error}`))
        else p.resolve(m.result)
      } else if (m.t === 'delivered') {
        this.onDelivered?.(m.total)
      }
    })
  }

  /** Wait for the worker's `ready` message. */
  async ready (): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new WorkerError(`worker ${this.name} not ready after ${READY_TIMEOUT_MS} ms`)) }, READY_TIMEOUT_MS)
      const onExit = (code: number | null): void => {
        clearTimeout(timer)
        reject(new WorkerError(`worker ${this.name} exited with ${code} before it was ready`))
      }
      this.child.once('exit', onExit)
      const onMessage = (m: FromWorker): void => {
        if (m.t !== 'ready') return
        clearTimeout(timer)
        this.child.off('exit', onExit)
        this.child.off('message', onMessage)
        this.info = m.info ?? {}
        resolve()
      }
      this.child.on('message', onMessage)
    })
    return this
  }

  async call<T = unknown> (op: string, args: Record<string, unknown> = {}, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
    const id = this.#nextId++
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new WorkerError(`worker ${this.name}: ${op} timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer })
      this.send({ t: 'call', id, op, args })
    })
  }

  send (message: ToWorker): void {
    if (this.child.connected) this.child.send(message)
  }

  /** Ask the worker to exit; SIGKILL if it does not within the timeout. */
  async stop (): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    if (this.child.connected) this.child.disconnect()
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, STOP_TIMEOUT_MS)
    await this.#exited
    clearTimeout(timer)
  }

  async kill (): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
    await this.#exited
  }
}

/**
 * The processes of one scenario. `close()` stops them all (gracefully when
 * `ok`, by SIGKILL otherwise); call it from a `finally`.
 */
export class ProcessGroup {
  readonly #daemons: DaemonProcess[] = []
  readonly #workers: Worker[] = []
  /** Daemons still starting: `close()` waits for them, so that one failing start leaves none of the others behind. */
  readonly #starting = new Set<Promise<DaemonProcess>>()

  async daemon (nodeId: string, options?: StartOptions): Promise<DaemonProcess> {
    const start = startDaemon(nodeId, options)
    this.#starting.add(start)
    try {
      const d = await start
      this.#daemons.push(d)
      return d
    } finally {
      this.#starting.delete(start)
    }
  }

  async worker (name: string, entry = 'api-client.ts'): Promise<Worker> {
    const w = new Worker(name, entry)
    this.#workers.push(w)
    return await w.ready()
  }

  async close (ok: boolean): Promise<void> {
    await Promise.allSettled([...this.#starting])
    const workers = this.#workers.splice(0)
    const daemons = this.#daemons.splice(0)
    await Promise.all(workers.map(async w => { await (ok ? w.stop() : w.kill()) }))
    await Promise.all(daemons.map(async d => {
      if (ok) {
        const timer = setTimeout(() => { d.child.kill('SIGKILL') }, STOP_TIMEOUT_MS)
        await d.stop()
        clearTimeout(timer)
      } else {
        await d.kill()
        await d.stop() // removes the state folder
      }
    }))
  }

  /** Run `fn` with a fresh group, closing it whatever happens. */
  static async with<T> (fn: (group: ProcessGroup) => Promise<T>): Promise<T> {
    const group = new ProcessGroup()
    let ok = false
    try {
      const out = await fn(group)
      ok = true
      return out
    } finally {
      await group.close(ok)
    }
  }
}
