import type FakeTimers from '@sinonjs/fake-timers'
import type { Clock, TimerHandle } from '../core/clock.ts'

type FakeClock = FakeTimers.Clock
type TimerId = FakeTimers.TimerId

/**
 * One party's view of the simulation's fake clock (@sinonjs/fake-timers):
 * the timers it set and has not cleared or seen fire are counted, so that a
 * closed NetworkModule can be shown to leave none, and `freeze()` clears
 * them and ignores every later one, which is what a crash does to a
 * process: nothing it scheduled ever runs.
 */
export class SimClock implements Clock {
  readonly name: string
  readonly #fake: FakeClock
  readonly #timers = new Map<TimerId, 'timeout' | 'interval'>()
  #frozen = false

  constructor (fake: FakeClock, name: string) {
    this.#fake = fake
    this.name = name
  }

  readonly now = (): number => this.#fake.now

  /** Timers set and still due. */
  get pending (): number { return this.#timers.size }
  get frozen (): boolean { return this.#frozen }

  setTimeout (callback: () => void, ms: number): TimerHandle {
    if (this.#frozen) return undefined
    const id: TimerId = this.#fake.setTimeout(() => {
      this.#timers.delete(id)
      callback()
    }, ms)
    this.#timers.set(id, 'timeout')
    return id
  }

  clearTimeout (handle: TimerHandle | undefined): void {
    if (handle === undefined || !this.#timers.has(handle as TimerId)) return
    this.#timers.delete(handle as TimerId)
    this.#fake.clearTimeout(handle as TimerId)
  }

  setInterval (callback: () => void, ms: number): TimerHandle {
    if (this.#frozen) return undefined
    const id = this.#fake.setInterval(callback, ms)
    this.#timers.set(id, 'interval')
    return id
  }

  clearInterval (handle: TimerHandle | undefined): void {
    if (handle === undefined || !this.#timers.has(handle as TimerId)) return
    this.#timers.delete(handle as TimerId)
    this.#fake.clearInterval(handle as TimerId)
  }

  /** Clear every timer and ignore all later ones. */
  freeze (): void {
    this.#frozen = true
    this.clearAll()
  }

  /** Clear every timer (the simulation's own processes at the end). */
  clearAll (): void {
    for (const [id, kind] of this.#timers) {
      if (kind === 'timeout') this.#fake.clearTimeout(id)
      else this.#fake.clearInterval(id)
    }
    this.#timers.clear()
  }
}
