/**
 * Which lane writes next. Strict lanes come first, in lane order; the
 * others share by deficit round robin on bytes: each turn a lane earns
 * `quantumBytes × weight` and writes while its next item fits. Items are at
 * most one chunk and the quantum is at least a chunk, so every lane with
 * something to write writes at least one item per round: no lane starves
 * (a byte-weighted "least recently sent" choice, as in CometBFT's
 * MConnection, can keep a lane of large items waiting for ever).
 *
 * A strict lane that has written `strictBurstBytes` in a row while a
 * weighted lane waits lets one weighted item through, so a flood on a
 * strict lane slows the others down but never stops them.
 *
 * An item larger than a lane's quantum (a whole message taken from the
 * inbox) goes when its lane's turn comes with credit left; the lane's credit
 * goes negative and it sits out rounds until it has earned it back. Rounds
 * in which every lane with an item is still in debt are skipped at once, as
 * if they had passed: a lane in debt is never refused while no other lane
 * has anything to write.
 *
 * Pure: no timers, no I/O; the caller says what each lane could write.
 */
export interface SchedulerLane {
  readonly strict: boolean
  readonly weight: number
}

/** Size in bytes of the lane's next item, or -1 when it has nothing it may write now. */
export type NextItemSize = (lane: number) => number

export class LaneScheduler {
  readonly #strict: number[]
  readonly #weighted: number[]
  readonly #earn: number[]
  readonly #deficit: number[]
  readonly #strictBurstBytes: number
  #cursor = 0
  /** The lane at the cursor has had its quantum for this turn. */
  #turnStarted = false
  #strictRun = 0

  constructor (lanes: readonly SchedulerLane[], quantumBytes: number, strictBurstBytes: number) {
    this.#strict = []
    this.#weighted = []
    this.#earn = lanes.map(l => l.strict ? 0 : quantumBytes * l.weight)
    this.#deficit = lanes.map(() => 0)
    lanes.forEach((l, i) => { (l.strict ? this.#strict : this.#weighted).push(i) })
    this.#strictBurstBytes = strictBurstBytes
  }

  /** The lane to write next, or -1 when none may write. Call `charge()` with what it wrote. */
  pick (sizeOf: NextItemSize): number {
    const strict = this.#strict
    for (let i = 0; i < strict.length; i++) {
      const lane = strict[i]
      if (sizeOf(lane) < 0) continue
      if (this.#strictRun < this.#strictBurstBytes) return lane
      const other = this.#pickWeighted(sizeOf)
      return other < 0 ? lane : other
    }
    this.#strictRun = 0
    return this.#pickWeighted(sizeOf)
  }

  /** `lane` wrote an item of `bytes`. */
  charge (lane: number, bytes: number): void {
    if (this.#earn[lane] === 0) {
      this.#strictRun += bytes
    } else {
      this.#deficit[lane] -= bytes
      this.#strictRun = 0
    }
  }

  #pickWeighted (sizeOf: NextItemSize): number {
    const lane = this.#visitWeighted(sizeOf)
    if (lane >= 0 || !this.#skipIndebtedRounds(sizeOf)) return lane
    return this.#visitWeighted(sizeOf)
  }

  /**
   * When every weighted lane with an item is in debt (none could write in a
   * whole round), credit each of them the rounds that pass before the first
   * one is out of debt, as deficit round robin would by going round. False
   * when no weighted lane has an item.
   */
  #skipIndebtedRounds (sizeOf: NextItemSize): boolean {
    const weighted = this.#weighted
    let rounds = Number.POSITIVE_INFINITY
    for (const lane of weighted) {
      if (sizeOf(lane) < 0) continue
      rounds = Math.min(rounds, Math.max(0, Math.floor(-this.#deficit[lane] / this.#earn[lane])))
    }
    if (rounds === Number.POSITIVE_INFINITY) return false
    for (const lane of weighted) {
      if (sizeOf(lane) >= 0) this.#deficit[lane] += rounds * this.#earn[lane]
    }
    return true
  }

  #visitWeighted (sizeOf: NextItemSize): number {
    const weighted = this.#weighted
    const n = weighted.length
    if (n === 0) return -1
    // each lane is visited at most twice: once to finish its turn, once for a new one
    for (let visits = 0; visits <= 2 * n; visits++) {
      const lane = weighted[this.#cursor]
      const size = sizeOf(lane)
      if (size < 0) {
        // nothing to write: a lane does not bank credit while idle
        this.#deficit[lane] = 0
        this.#next(n)
        continue
      }
      if (!this.#turnStarted) {
        this.#deficit[lane] += this.#earn[lane]
        this.#turnStarted = true
        // an item larger than the quantum goes when its lane has credit, and the debt is repaid in later rounds
        if (this.#deficit[lane] > 0) return lane
      }
      if (size <= this.#deficit[lane]) return lane
      this.#next(n)
    }
    return -1
  }

  #next (n: number): void {
    this.#cursor = (this.#cursor + 1) % n
    this.#turnStarted = false
  }
}
