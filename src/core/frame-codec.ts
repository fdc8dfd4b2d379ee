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
 * Encode messages as consecutive frames into one contiguous buffer, ready for
 * a single `send()`: one allocation per batch, not per message.
 */
export function encodeFrames (payloads: readonly Uint8Array[], count: number, totalBytes: number): Uint8Array {
  let size = totalBytes
  for (let i = 0; i < count; i++) size += encodingLength(payloads[i].byteLength)
  const out = Buffer.allocUnsafe(size)
  let offset = 0
  for (let i = 0; i < count; i++) {
    const p = payloads[i]
    encodeUint8Array(p.byteLength, out, offset)
    offset += encodingLength(p.byteLength)
    out.set(p, offset)
    offset += p.byteLength
  }
  return out
}

/** Bytes a batch of frames takes on the wire. */
export function frameLength (payloadBytes: number): number {
  return encodingLength(payloadBytes) + payloadBytes
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
 * Decodes frames from chunks as they arrive, synchronously, calling `onFrame`
 * for each complete payload. A frame within one chunk is passed as a view into
 * it (no copy); a frame spanning chunks is assembled once. The size a header
 * claims is checked before any byte of it is buffered.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number
  readonly #onFrame: (payload: Uint8Array) => void
  /** Bytes of an incomplete frame (header included) carried over between chunks. */
  readonly #partial = new Uint8ArrayList()

  constructor (maxFrameBytes: number, onFrame: (payload: Uint8Array) => void) {
    this.maxFrameBytes = maxFrameBytes
    this.#onFrame = onFrame
  }

  /** Bytes buffered for an incomplete frame. */
  get bufferedBytes (): number { return this.#partial.byteLength }

  /** Throws `FrameTooLargeError` or `MalformedFrameError`; the stream is then unusable. */
  push (data: Bytes): void {
    if (data instanceof Uint8Array) {
      this.#pushArray(data)
    } else {
      for (const buf of data) this.#pushArray(buf)
    }
  }

  #checkLength (length: number): void {
    if (length > this.maxFrameBytes) {
      throw new FrameTooLargeError(`frame of ${length} bytes exceeds the maximum of ${this.maxFrameBytes} bytes`)
    }
  }

  #pushArray (buf: Uint8Array): void {
    let offset = this.#partial.byteLength > 0 ? this.#completePartial(buf) : 0
    const end = buf.byteLength
    while (offset < end) {
      const payloadStart = headerEnd(buf, offset)
      if (payloadStart < 0) break
      const length = decodeUint8Array(buf, offset)
      this.#checkLength(length)
      const payloadEnd = payloadStart + length
      if (payloadEnd > end) break
      this.#onFrame(buf.subarray(payloadStart, payloadEnd))
      offset = payloadEnd
    }
    if (offset < end) this.#partial.append(buf.subarray(offset))
  }

  /**
   * Feed the start of `buf` into the frame carried over; returns how many bytes
   * of `buf` it took.
   */
  #completePartial (buf: Uint8Array): number {
    const have = this.#partial.byteLength
    // the header may itself be split: look at up to MAX_HEADER_BYTES across both
    const head = have >= MAX_HEADER_BYTES
      ? this.#partial.subarray(0, MAX_HEADER_BYTES)
      : concatHead(this.#partial, buf, MAX_HEADER_BYTES)
    const payloadStart = headerEnd(head, 0)
    if (payloadStart < 0) {
      this.#partial.append(buf)
      return buf.byteLength
    }
    const length = decodeUint8Array(head, 0)
    this.#checkLength(length)
    const need = payloadStart + length - have
    if (need > buf.byteLength) {
      this.#partial.append(buf)
      return buf.byteLength
    }
    this.#partial.append(buf.subarray(0, need))
    const payload = this.#partial.subarray(payloadStart)
    this.#partial.consume(this.#partial.byteLength)
    this.#onFrame(payload)
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
