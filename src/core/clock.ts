/**
 * Time as the core sees it. Every timer and clock read in `src/core` goes
 * through a Clock, so that a test (or a simulation) can run the core on
 * virtual time; daemons use {@link systemClock}.
 *
 * The shape is the subset of the timer globals that the core uses, so a
 * clock of `@sinonjs/fake-timers` fits it with `now` read as a function.
 */
export interface Clock {
  /** Milliseconds since the epoch (or since the start of a virtual run). */
  now: () => number
  setTimeout: (callback: () => void, ms: number) => TimerHandle
  clearTimeout: (handle: TimerHandle | undefined) => void
  setInterval: (callback: () => void, ms: number) => TimerHandle
  clearInterval: (handle: TimerHandle | undefined) => void
}

/** What a Clock's timers return: opaque, only handed back to it. */
export type TimerHandle = unknown

/** The process's own clock and timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => { clearTimeout(handle as ReturnType<typeof setTimeout> | undefined) },
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (handle) => { clearInterval(handle as ReturnType<typeof setInterval> | undefined) }
}
