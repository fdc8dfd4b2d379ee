/**
 * Capped exponential backoff with full jitter: attempt n (0-based) waits a
 * random time in [0, min(cap, initial * 2^n)). The first retry therefore comes
 * within `initialDelayMs`.
 */
export class Backoff {
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  #attempt = 0

  constructor (initialDelayMs: number, maxDelayMs: number) {
    this.initialDelayMs = initialDelayMs
    this.maxDelayMs = maxDelayMs
  }

  get attempt (): number { return this.#attempt }

  /** The delay before the next retry; advances the attempt counter. */
  next (): number {
    const ceiling = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(this.#attempt, 30))
    this.#attempt++
    return Math.random() * ceiling
  }

  reset (): void {
    this.#attempt = 0
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export async function delay (ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>(resolve => {
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
