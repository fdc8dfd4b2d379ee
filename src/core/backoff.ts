import { systemClock } from './clock.ts'
import type { Clock } from './clock.ts'

/**
 * Capped exponential backoff with full jitter: attempt n (0-based) waits a
 * random time in [0, min(cap, initial * 2^n)). The first retry therefore comes
 * within `initialDelayMs`.
 */
export class Backoff {
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  readonly #random: () => number
  #attempt = 0

  /** `random` returns a number in [0, 1), as Math.random (the default) does; a seeded one makes the delays reproducible. */
  constructor (initialDelayMs: number, maxDelayMs: number, random: () => number = Math.random) {
    this.initialDelayMs = initialDelayMs
    this.maxDelayMs = maxDelayMs
    this.#random = random
  }

  get attempt (): number { return this.#attempt }

  /** The delay before the next retry; advances the attempt counter. */
  next (): number {
    const ceiling = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(this.#attempt, 30))
    this.#attempt++
    return this.#random() * ceiling
  }

  reset (): void {
    this.#attempt = 0
  }
}

/** Resolves after `ms` of `clock`, or at once when `signal` aborts (never rejects). */
export async function delay (ms: number, signal: AbortSignal, clock: Clock = systemClock): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>(resolve => {
    const done = (): void => {
      clock.clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = clock.setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

/**
 * An AbortSignal that aborts with a `TimeoutError` after `ms` of `clock`
 * (AbortSignal.timeout, on the given clock). Call `clear()` once it is no
 * longer needed, so that no timer is left behind.
 */
export function timeoutSignal (ms: number, clock: Clock = systemClock): { signal: AbortSignal, clear: () => void } {
  const controller = new AbortController()
  const timer = clock.setTimeout(() => { controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')) }, ms)
  return { signal: controller.signal, clear: () => { clock.clearTimeout(timer) } }
}
