import { decodeUint8Array, encodeUint8Array, encodingLength } from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { FrameTooLargeError } from './errors.ts'
import type { Bytes } from './transport.ts'

/**
 * The wire format of a mirnet stream: a sequence of frames, each an unsigned
 * LEB128 varint giving the payload length in bytes followed by the payload.
 * See docs/wire-format.md.
 */

/** A varint of more bytes than this is rejected (uint8-varint decodes 8 at most). */
const MAX_HEADER_BYTES = 8

/**
 * Encode messages as consecutive frames into a list for a single `send()`:
 * headers and small payloads are copied into one buffer, payloads of
 * `referenceMinBytes` or more are referenced, not copied (the sender owns
 * them once queued).
 */
export function encodeFrameList (payloads: readonly Uint8Array[], count: number, referenceMinBytes: number): Uint8ArrayList {
  let copied = 0
  for (let i = 0; i < count; i++) {
    const length = payloads[i].byteLength
    copied += encodingLength(length) + (length < referenceMinBytes ? length : 0)
  }
  const buf = Buffer.allocUnsafe(copied)
  const out = new Uint8ArrayList()
  let start = 0
  let offset = 0
  for (let i = 0; i < count; i++) {
    const p = payloads[i]
    const length = p.byteLength
    encodeUint8Array(length, buf, offset)
    offset += encodingLength(length)
    if (length < referenceMinBytes) {
      buf.set(p, offset)
      offset += length
    } else {
      out.append(buf.subarray(start, offset))
      out.append(p)
      start = offset
    }
  }
  if (offset > start) out.append(buf.subarray(start, offset))
  return out
}

/**
 * Index just past the varint starting at `offset` in `buf`, -1 when the buffer
 * ends before the varint does. Throws when the varint is too long.
 */
function headerEnd (buf: Uint8Array, offset: number): number {
  const limit = Math.min(buf.byteLength, offset + MAX_HEADER_BYTES)
  for (let i = offset; i < limit; i++) {
    if (buf[i] < 0x80) return i + 1
  }
  if (limit - offset === MAX_HEADER_BYTES) {
    throw new FrameTooLargeError(`frame length prefix is longer than ${MAX_HEADER_BYTES} bytes`)
  }
  return -1
}

/**
 * Called per decoded frame; return false to stop decoding after this frame
 * (the consumer is full). The rest is kept, undecoded, until `resume()`.
 */
export type FrameSink = (payload: Uint8Array) => boolean

/**
 * Decodes frames from chunks as they arrive, synchronously, calling the sink
 * for each complete payload. A frame within one chunk is passed as a view into
 * it (no copy); a frame spanning chunks is assembled once. The size a header
 * claims is checked before any byte of it is buffered.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number
  readonly #sink: FrameSink
  /**
   * Undecoded bytes: the start of a frame carried over between chunks, or,
   * while stopped, everything not yet decoded.
   */
  #pending = new Uint8ArrayList()
  #stopped = false

  constructor (maxFrameBytes: number, sink: FrameSink) {
    this.maxFrameBytes = maxFrameBytes
    this.#sink = sink
  }

  /** Bytes held undecoded. */
  get bufferedBytes (): number { return this.#pending.byteLength }
  /** True after the sink asked to stop, until `resume()` gets through the backlog. */
  get stopped (): boolean { return this.#stopped }

  /** Throws `FrameTooLargeError`; the stream is then unusable. */
  push (data: Bytes): void {
    if (this.#stopped) {
      this.#pending.append(data)
    } else if (data instanceof Uint8Array) {
      this.#pushArray(data)
    } else {
      for (const buf of data) {
        if (this.#stopped) this.#pending.append(buf)
        else this.#pushArray(buf)
      }
    }
  }

  /** Decode what was held back when the sink stopped; may stop again. */
  resume (): void {
    if (!this.#stopped) return
    this.#stopped = false
    const backlog = this.#pending
    this.#pending = new Uint8ArrayList()
    this.push(backlog)
  }

  #checkLength (length: number): void {
    if (length > this.maxFrameBytes) {
      throw new FrameTooLargeError(`frame of ${length} bytes exceeds the maximum of ${this.maxFrameBytes} bytes`)
    }
  }

  #pushArray (buf: Uint8Array): void {
    let offset = this.#pending.byteLength > 0 ? this.#completePending(buf) : 0
    const end = buf.byteLength
    while (offset < end && !this.#stopped) {
      const payloadStart = headerEnd(buf, offset)
      if (payloadStart < 0) break
      const length = decodeUint8Array(buf, offset)
      this.#checkLength(length)
      const payloadEnd = payloadStart + length
      if (payloadEnd > end) break
      offset = payloadEnd
      if (!this.#sink(buf.subarray(payloadStart, payloadEnd))) this.#stopped = true
    }
    if (offset < end) this.#pending.append(buf.subarray(offset))
  }

  /**
   * Feed the start of `buf` into the frame carried over; returns how many bytes
   * of `buf` it took.
   */
  #completePending (buf: Uint8Array): number {
    const have = this.#pending.byteLength
    // the header may itself be split: look at up to MAX_HEADER_BYTES across both
    const head = have >= MAX_HEADER_BYTES
      ? this.#pending.subarray(0, MAX_HEADER_BYTES)
      : concatHead(this.#pending, buf, MAX_HEADER_BYTES)
    const payloadStart = headerEnd(head, 0)
    if (payloadStart < 0) {
      this.#pending.append(buf)
      return buf.byteLength
    }
    const length = decodeUint8Array(head, 0)
    this.#checkLength(length)
    const need = payloadStart + length - have
    if (need > buf.byteLength) {
      this.#pending.append(buf)
      return buf.byteLength
    }
    this.#pending.append(buf.subarray(0, need))
    const payload = this.#pending.subarray(payloadStart)
    this.#pending.consume(this.#pending.byteLength)
    if (!this.#sink(payload)) this.#stopped = true
    return need
  }
}

function concatHead (list: Uint8ArrayList, buf: Uint8Array, max: number): Uint8Array {
  const fromList = list.subarray()
  const take = Math.min(buf.byteLength, max - fromList.byteLength)
  const out = new Uint8Array(fromList.byteLength + take)
  out.set(fromList, 0)
  out.set(buf.subarray(0, take), fromList.byteLength)
  return out
}

/** A header giving `length`, for tests and tools that write frames by hand. */
export function encodeHeader (length: number): Uint8Array {
  const out = new Uint8Array(encodingLength(length))
  encodeUint8Array(length, out, 0)
  return out
}
