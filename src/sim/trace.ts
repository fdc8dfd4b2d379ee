import { createHash } from 'node:crypto'
import type { Hash } from 'node:crypto'

/**
 * The event trace of one run: every event is hashed into the digest (two
 * runs of a seed are the same run when their digests are), the last
 * `keep` are kept as text for a violation's report, and events are counted
 * by kind.
 */
export class Trace {
  readonly #hash: Hash = createHash('sha256')
  readonly #last: string[]
  #next = 0
  #events = 0
  readonly counts = new Map<string, number>()
  readonly #now: () => number

  constructor (now: () => number, keep = 40) {
    this.#now = now
    this.#last = new Array<string>(keep).fill('')
  }

  get events (): number { return this.#events }

  /** Record an event of `kind` with its detail (already text: no object formatting per event). */
  event (kind: string, detail: string): void {
    const line = `${this.#now().toFixed(3)} ${kind} ${detail}`
    this.#hash.update(line)
    this.#hash.update('\n')
    this.#last[this.#next] = line
    this.#next = (this.#next + 1) % this.#last.length
    this.#events++
  }

  /** Count an event without hashing it as text (per-message events: the digest has them through `event` where it matters). */
  count (kind: string, n = 1): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n)
  }

  /** The last events, oldest first. */
  tail (): string[] {
    const out: string[] = []
    for (let i = 0; i < this.#last.length; i++) {
      const line = this.#last[(this.#next + i) % this.#last.length]
      if (line !== '') out.push(line)
    }
    return out
  }

  /** The digest of every event so far (hex). Ends the trace. */
  digest (): string {
    return this.#hash.digest('hex')
  }
}
