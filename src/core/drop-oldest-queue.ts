import { InvalidConfigError } from './errors.ts'

/** Something with a size in bytes. */
export interface Sized {
  readonly byteLength: number
}

/**
 * A bounded FIFO that never refuses an item: when adding one would pass the
 * capacity in items or in bytes, the oldest items are dropped to make room.
 * A ring buffer, so push and shift allocate nothing.
 */
export class DropOldestQueue<T extends Sized> {
  readonly capacity: number
  readonly maxBytes: number
  #items: Array<T | undefined>
  #head = 0
  #length = 0
  #bytes = 0
  #dropped = 0
  #droppedBytes = 0

  constructor (capacity: number, maxBytes = Number.POSITIVE_INFINITY) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new InvalidConfigError(`queue capacity must be a positive integer, got ${capacity}`)
    }
    if (!(maxBytes > 0)) {
      throw new InvalidConfigError(`queue byte cap must be positive, got ${maxBytes}`)
    }
    this.capacity = capacity
    this.maxBytes = maxBytes
    this.#items = new Array(capacity)
  }

  get length (): number { return this.#length }
  get byteLength (): number { return this.#bytes }
  /** Items dropped to make room since creation. */
  get dropped (): number { return this.#dropped }
  get droppedBytes (): number { return this.#droppedBytes }

  /**
   * Append an item; returns how many old items were dropped to make room.
   * An item larger than `maxBytes` on its own empties the queue and is kept:
   * callers bound item sizes (the frame limit) below the byte cap.
   */
  push (item: T): number {
    let dropped = 0
    while (this.#length > 0 &&
      (this.#length === this.capacity || this.#bytes + item.byteLength > this.maxBytes)) {
      const old = this.shift() as T
      this.#dropped++
      this.#droppedBytes += old.byteLength
      dropped++
    }
    this.#items[(this.#head + this.#length) % this.capacity] = item
    this.#length++
    this.#bytes += item.byteLength
    return dropped
  }

  /** The oldest item, without removing it. */
  peek (): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head]
  }

  shift (): T | undefined {
    if (this.#length === 0) return undefined
    const item = this.#items[this.#head] as T
    this.#items[this.#head] = undefined
    this.#head = (this.#head + 1) % this.capacity
    this.#length--
    this.#bytes -= item.byteLength
    return item
  }

  /** Remove everything; returns the number of items removed (not counted as dropped). */
  clear (): number {
    const n = this.#length
    while (this.#length > 0) this.shift()
    return n
  }
}
