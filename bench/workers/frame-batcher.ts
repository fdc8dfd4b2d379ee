/**
 * The sender of the `raw-tcp-batched` baseline: what a careful hand-written
 * TCP sender does with many small messages. Each message is framed (varint
 * length, then the payload; the core's wire framing, docs/wire-format.md)
 * into a 64 KiB buffer, and a full buffer is one `socket.write()`. A payload
 * of `REFERENCE_MIN_BYTES` or more is not copied: its header closes the
 * batch and the payload is written by reference right after it. The caller
 * corks the socket for an event-loop turn and calls `flush()` before
 * uncorking, so what one turn framed leaves in one `writev`. Written buffers
 * come back to a free list when the socket is done with them: a fresh 64 KiB
 * buffer per write costs its page faults, several times the copying (about
 * 150-250 ns per 256 B message against 20-50 ns, measured here).
 */
import { encodeUint8Array, encodingLength } from 'uint8-varint'
import type { Socket } from 'node:net'

/** Bytes framed into one buffer before it is written. */
export const BATCH_BYTES = 64 * 1024
/** Payloads this large are written by reference (after their header), not copied. */
export const REFERENCE_MIN_BYTES = 16 * 1024

export class FrameBatcher {
  readonly #socket: Socket
  readonly #free: Buffer[] = []
  #buf: Buffer
  #used = 0

  constructor (socket: Socket) {
    this.#socket = socket
    this.#buf = this.#take()
  }

  /**
   * Frame `payload`; writes the batch when it is full. Returns what the last
   * `socket.write()` returned (true when nothing was written): false asks
   * the caller to wait for `drain`.
   */
  add (payload: Uint8Array): boolean {
    const length = payload.byteLength
    const header = encodingLength(length)
    let more = true
    if (length >= REFERENCE_MIN_BYTES) {
      if (this.#used + header > BATCH_BYTES) more = this.flush()
      encodeUint8Array(length, this.#buf, this.#used)
      this.#used += header
      more = this.flush() && more
      return this.#socket.write(payload) && more
    }
    if (this.#used + header + length > BATCH_BYTES) more = this.flush()
    encodeUint8Array(length, this.#buf, this.#used)
    this.#used += header
    this.#buf.set(payload, this.#used)
    this.#used += length
    return more
  }

  /** Write what is framed (if anything); returns what `socket.write()` returned. */
  flush (): boolean {
    if (this.#used === 0) return true
    const buf = this.#buf
    const chunk = buf.subarray(0, this.#used)
    this.#buf = this.#take()
    this.#used = 0
    return this.#socket.write(chunk, () => { this.#free.push(buf) })
  }

  #take (): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(BATCH_BYTES)
  }
}
