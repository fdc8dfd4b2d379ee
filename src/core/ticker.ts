import { systemClock } from './clock.ts'
import type { Clock, TimerHandle } from './clock.ts'

/**
 * One interval timer for many periodic tasks: a node with many links wakes up
 * once per period, not once per link. The timer runs only while tasks are
 * registered. Tasks run in registration order and must not throw.
 */
export class Ticker {
  readonly periodMs: number
  readonly #tasks = new Set<() => void>()
  readonly clock: Clock
  #timer?: TimerHandle

  constructor (periodMs: number, clock: Clock = systemClock) {
    this.periodMs = periodMs
    this.clock = clock
  }

  /** Run `task` every period from now on; returns the function that removes it. */
  add (task: () => void): () => void {
    this.#tasks.add(task)
    this.#timer ??= this.clock.setInterval(this.#tick, this.periodMs)
    return () => { this.#remove(task) }
  }

  get size (): number { return this.#tasks.size }
  /** Whether the timer is set (exactly while tasks are registered). */
  get running (): boolean { return this.#timer !== undefined }

  #remove (task: () => void): void {
    this.#tasks.delete(task)
    if (this.#tasks.size === 0 && this.#timer !== undefined) {
      this.clock.clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  readonly #tick = (): void => {
    for (const task of this.#tasks) task()
  }
}
