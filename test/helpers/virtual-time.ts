import FakeTimers from '@sinonjs/fake-timers'
import type { Clock } from '../../src/core/clock.ts'

/** Real event-loop turns that let I/O and setImmediate callbacks (the in-memory transport's deliveries) run. */
async function realTurns (n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise(resolve => setImmediate(resolve))
}

/**
 * Virtual time for the core: a clock of `@sinonjs/fake-timers` that no
 * global is replaced by. The core's timers run only when the test advances
 * it; the in-memory transport still delivers on real event-loop turns,
 * which run between steps, so a step is the resolution of every time the
 * test measures.
 */
export class VirtualTime {
  readonly fake = FakeTimers.createClock(1_000_000)
  readonly clock: Clock
  readonly stepMs: number

  constructor (stepMs = 5) {
    this.stepMs = stepMs
    const fake = this.fake
    this.clock = {
      now: () => fake.now,
      setTimeout: (callback, ms) => fake.setTimeout(callback, ms),
      clearTimeout: (handle) => { if (handle !== undefined) fake.clearTimeout(handle as FakeTimers.TimerId) },
      setInterval: (callback, ms) => fake.setInterval(callback, ms),
      clearInterval: (handle) => { if (handle !== undefined) fake.clearInterval(handle as FakeTimers.TimerId) }
    }
  }

  get now (): number { return this.fake.now }
  /** Timers pending on the virtual clock. */
  get timers (): number { return this.fake.countTimers() }

  /** Let `ms` of virtual time pass, step by step. */
  async advance (ms: number): Promise<void> {
    const end = this.fake.now + ms
    while (this.fake.now < end) {
      this.fake.tick(Math.min(this.stepMs, end - this.fake.now))
      await realTurns(3)
    }
  }

  /**
   * Advance until `check` returns a value (not undefined or false), and
   * return it with the virtual ms that passed; fail with `what` after
   * `limitMs` of virtual time.
   */
  async until<T> (what: string, check: () => T | undefined | false, limitMs: number): Promise<{ value: T, afterMs: number }> {
    const start = this.fake.now
    for (;;) {
      await realTurns(3)
      const value = check()
      if (value !== undefined && value !== false) return { value, afterMs: this.fake.now - start }
      if (this.fake.now - start >= limitMs) throw new Error(`still waiting for ${what} after ${limitMs} virtual ms`)
      this.fake.tick(this.stepMs)
    }
  }

  /** Await `promise` while virtual time passes (for calls that may wait on a core timer). */
  async drive<T> (promise: Promise<T>, limitMs = 60_000): Promise<T> {
    let settled = false
    const tracked = promise.finally(() => { settled = true })
    await this.until('a call to settle', () => settled, limitMs)
    return await tracked
  }
}
