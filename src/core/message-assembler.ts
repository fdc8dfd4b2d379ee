import { FrameTooLargeError, MalformedFrameError } from './errors.ts'

/**
 * Puts one lane's chunked message back together. The size a first chunk
 * announces is checked against the maximum before anything is kept, and
 * nothing of that size is allocated up front: the buffer grows with what
 * arrives (doubling, never past the announced size), so a peer that
 * announces a large message and sends little holds little.
 */
export class MessageAssembler {
  readonly #maxBytes: number
  #buf?: Uint8Array
  #filled = 0
  #total = 0

  constructor (maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  get active (): boolean { return this.#buf !== undefined }
  /** Bytes of the message in progress received so far. */
  get filled (): number { return this.#filled }

  /** A first chunk of a message of `total` bytes. Throws `FrameTooLargeError`, `MalformedFrameError`. */
  start (total: number, part: Uint8Array): void {
    if (this.#buf !== undefined) throw new MalformedFrameError('a lane started a message before finishing the one in progress')
    if (total > this.#maxBytes) throw new FrameTooLargeError(`message of ${total} bytes exceeds the maximum of ${this.#maxBytes} bytes`)
    if (part.byteLength >= total) throw new MalformedFrameError(`a first chunk of ${part.byteLength} bytes for a message of ${total} bytes`)
    this.#total = total
    this.#buf = new Uint8Array(Math.min(total, Math.max(64 * 1024, 2 * part.byteLength)))
    this.#buf.set(part, 0)
    this.#filled = part.byteLength
  }

  /** A later chunk; returns the message after the last. Throws `MalformedFrameError`. */
  append (part: Uint8Array, last: boolean): Uint8Array | undefined {
    let buf = this.#buf
    if (buf === undefined) throw new MalformedFrameError('a chunk continues no message in progress')
    const filled = this.#filled + part.byteLength
    if (filled > this.#total || (last ? filled !== this.#total : filled === this.#total)) {
      throw new MalformedFrameError(`chunks of ${filled} bytes for a message of ${this.#total} bytes`)
    }
    if (filled > buf.byteLength) {
      let size = buf.byteLength * 2
      while (size < filled) size *= 2
      const grown = new Uint8Array(Math.min(this.#total, size))
      grown.set(buf.subarray(0, this.#filled), 0)
      buf = this.#buf = grown
    }
    buf.set(part, this.#filled)
    this.#filled = filled
    if (!last) return undefined
    this.reset()
    return buf
  }

  /** Forget the message in progress (the stream ended). */
  reset (): void {
    this.#buf = undefined
    this.#filled = 0
    this.#total = 0
  }
}
