/**
 * The send side of a channel that models a stream's flow control by bytes
 * sent and not yet read by the remote end (the in-memory channel, the
 * simulation's): `send()` returns false once `windowBytes` are unread, and
 * the channel owes its handler an `onDrain` when enough has been read, and
 * an `onIdle` whenever nothing is unread.
 */
export class SendWindow {
  readonly windowBytes: number
  #unread = 0
  #needsDrain = false

  constructor (windowBytes: number) {
    this.windowBytes = windowBytes
  }

  /** Bytes sent and not yet read by the remote end. */
  get unreadBytes (): number { return this.#unread }

  /** `n` bytes were sent; returns whether the sender may go on (false: wait for `onDrain`). */
  sent (n: number): boolean {
    this.#unread += n
    if (this.#unread >= this.windowBytes) this.#needsDrain = true
    return !this.#needsDrain
  }

  /** The remote end read `n` bytes; returns whether nothing is unread now (`onIdle`). */
  read (n: number): boolean {
    this.#unread -= n
    return this.#unread === 0
  }

  /** Whether a sender told to wait may go on now; true once per wait (`onDrain`). */
  takeDrain (): boolean {
    if (!this.#needsDrain || this.#unread >= this.windowBytes) return false
    this.#needsDrain = false
    return true
  }
}
