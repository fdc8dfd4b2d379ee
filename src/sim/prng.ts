import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand'
import type { RandomGenerator } from 'pure-rand'

/**
 * The simulation's only source of randomness: a seeded xoroshiro128+
 * (pure-rand). `fork()` hands out an independent stream (a jump ahead), so
 * that the network, the faults, the workload and each node draw from their
 * own and one seed gives one run.
 */
export class Prng {
  readonly #rng: RandomGenerator
  /** Where the next fork starts (jumped ahead once per fork). */
  readonly #forks: RandomGenerator

  constructor (seed: number | RandomGenerator) {
    this.#rng = typeof seed === 'number' ? xoroshiro128plus(seed) : seed
    this.#forks = this.#rng.clone()
    this.#forks.unsafeJump?.()
  }

  /** A number in [0, 1). */
  float (): number {
    return (this.#rng.unsafeNext() >>> 0) / 4294967296
  }

  /** An integer in [lo, hi]. */
  int (lo: number, hi: number): number {
    return unsafeUniformIntDistribution(lo, hi, this.#rng)
  }

  /** True with probability `p`. */
  chance (p: number): boolean {
    return this.float() < p
  }

  pick<T> (items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]
  }

  /** A number in [lo, hi), log-uniform: as many draws below 10 × lo as between 10 × lo and 100 × lo. */
  logUniform (lo: number, hi: number): number {
    return lo * Math.exp(this.float() * Math.log(hi / lo))
  }

  /** An exponential delay of mean `mean` (a Poisson process's gaps). */
  exp (mean: number): number {
    return -mean * Math.log(1 - this.float())
  }

  /** An independent stream. */
  fork (): Prng {
    const rng = this.#forks.clone()
    this.#forks.unsafeJump?.()
    return new Prng(rng)
  }

  /** As a `() => number` for the core's `random` component. */
  readonly asFunction = (): number => this.float()
}
