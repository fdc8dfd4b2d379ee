import { AbortError } from './errors.ts'

interface Waiter {
  count: number
  resolve: () => void
  reject: (err: Error) => void
}

/** Callers of `NetworkModule.waitFor`: each waits until `count` members are connected. */
export class ConnectionWaiters {
  #waiters: Waiter[] = []

  /** Resolves once `settle(n)` is called with n >= count; rejects with `AbortError` on abort. */
  async wait (count: number, signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter(w => w !== waiter)
        reject(new AbortError(`stopped waiting for ${count} connected members`))
      }
      const waiter: Waiter = {
        count,
        resolve: () => { signal?.removeEventListener('abort', onAbort); resolve() },
        reject: (err) => { signal?.removeEventListener('abort', onAbort); reject(err) }
      }
      this.#waiters.push(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  get size (): number { return this.#waiters.length }

  /** `connected` members are connected now: release those who wait for no more. */
  settle (connected: number): void {
    const ready = this.#waiters.filter(w => w.count <= connected)
    if (ready.length === 0) return
    this.#waiters = this.#waiters.filter(w => w.count > connected)
    for (const w of ready) w.resolve()
  }

  /** Reject every waiter with `err`. */
  rejectAll (err: Error): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w.reject(err)
  }
}
