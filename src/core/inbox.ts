import { AbortError } from './errors.ts'

/** A message received from a member. */
export interface ReceivedMessage {
  /** Node id of the sender, as authenticated by the transport. */
  readonly from: string
  readonly payload: Uint8Array
}

export interface InboxInit {
  /** Messages held before producers are told to pause. */
  capacity: number
  /** Payload bytes held before producers are told to pause. */
  maxBytes: number
}

/**
 * The module's output: received messages in arrival order (so FIFO per
 * sender), waiting for consumers. It never drops. Producers (Receivers, the
 * self path) push, check `full`, and when it is, stop reading and register
 * with `whenSpace()`; they are called back once the inbox has drained to half.
 * So the inbox holds at most its capacity plus what each producer had decoded
 * from the chunk in hand.
 */
export class Inbox {
  readonly capacity: number
  readonly maxBytes: number
  #items: ReceivedMessage[] = []
  #head = 0
  #bytes = 0
  #closed = false
  #delivered = 0
  #spaceWaiters: Array<() => void> = []
  #dataWaiters: Array<(more: boolean) => void> = []

  constructor (init: InboxInit) {
    this.capacity = init.capacity
    this.maxBytes = init.maxBytes
  }

  get length (): number { return this.#items.length - this.#head }
  get byteLength (): number { return this.#bytes }
  get closed (): boolean { return this.#closed }
  /** Messages handed to consumers since creation. */
  get delivered (): number { return this.#delivered }
  /** True when producers should stop until `whenSpace()` calls back. */
  get full (): boolean {
    return this.length >= this.capacity || this.#bytes >= this.maxBytes
  }

  push (from: string, payload: Uint8Array): void {
    this.#items.push({ from, payload })
    this.#bytes += payload.byteLength
    if (this.#dataWaiters.length > 0) this.#wakeConsumers(true)
  }

  /** Call `callback` once, when the inbox has drained to half its limits (or closes). */
  whenSpace (callback: () => void): void {
    this.#spaceWaiters.push(callback)
  }

  /** Remove and return up to `maxMessages` messages (at least one if any, then up to `maxBytes`). */
  take (maxMessages: number, maxBytes = Number.POSITIVE_INFINITY): ReceivedMessage[] {
    const out: ReceivedMessage[] = []
    let bytes = 0
    while (this.#head < this.#items.length && out.length < maxMessages) {
      const m = this.#items[this.#head]
      if (out.length > 0 && bytes + m.payload.byteLength > maxBytes) break
      out.push(m)
      bytes += m.payload.byteLength
      this.#head++
    }
    this.#afterTake(out.length, bytes)
    return out
  }

  /** Remove and return the oldest message, if any. */
  shift (): ReceivedMessage | undefined {
    if (this.#head >= this.#items.length) return undefined
    const m = this.#items[this.#head++]
    this.#afterTake(1, m.payload.byteLength)
    return m
  }

  #afterTake (count: number, bytes: number): void {
    if (count === 0) return
    this.#bytes -= bytes
    this.#delivered += count
    if (this.#head === this.#items.length) {
      this.#items = []
      this.#head = 0
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    if (this.#spaceWaiters.length > 0 &&
      this.length <= this.capacity / 2 && this.#bytes <= this.maxBytes / 2) {
      this.#wakeProducers()
    }
  }

  #wakeProducers (): void {
    const waiters = this.#spaceWaiters
    this.#spaceWaiters = []
    for (const w of waiters) w()
  }

  #wakeConsumers (more: boolean): void {
    const waiters = this.#dataWaiters
    this.#dataWaiters = []
    for (const w of waiters) w(more)
  }

  /**
   * Resolves true when there is a message to take, false when the inbox is
   * closed and empty. Rejects with `AbortError` when `signal` aborts.
   */
  async wait (signal?: AbortSignal): Promise<boolean> {
    if (this.length > 0) return true
    if (this.#closed) return false
    signal?.throwIfAborted()
    return await new Promise<boolean>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#dataWaiters.indexOf(settle)
        if (i >= 0) this.#dataWaiters.splice(i, 1)
        reject(new AbortError())
      }
      const settle = (more: boolean): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve(more)
      }
      this.#dataWaiters.push(settle)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Messages one by one until the inbox closes or `signal` aborts. */
  async * messages (signal?: AbortSignal): AsyncGenerator<ReceivedMessage, void, undefined> {
    while (await this.wait(signal)) {
      let m: ReceivedMessage | undefined
      while ((m = this.shift()) !== undefined) yield m
    }
  }

  /** End consumers once they have taken what is left; release paused producers. Idempotent. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#wakeConsumers(this.length > 0)
    this.#wakeProducers()
  }
}
