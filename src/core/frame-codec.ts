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
/** A chunk whose buffer is larger than twice the chunk plus this is copied before decoding. */
const SPARSE_SLACK_BYTES = 1024

/**
 * The frames of one write, planned first and then encoded with one buffer
 * for everything copied: each frame is the varint length, the tag byte
 * (lane and kind, see link-protocol.ts), for a first chunk the varint total
 * size of the message, and a slice of the payload. Slices of at least
 * `referenceMinBytes` are referenced, not copied (the sender owns queued
 * payloads). Reused from write to write: planning allocates nothing.
 */
export class FramePlan {
  count = 0
  /** Payload bytes planned. */
  bytes = 0
  readonly #tags: number[] = []
  readonly #payloads: Array<Uint8Array | undefined> = []
  readonly #starts: number[] = []
  readonly #ends: number[] = []
  readonly #totals: number[] = []

  /** One frame: `payload[start..end)` under `tag`, with `total` (the message size) for a first chunk, else -1. */
  add (tag: number, payload: Uint8Array, start: number, end: number, total: number): void {
    const i = this.count++
    this.#tags[i] = tag
    this.#payloads[i] = payload
    this.#starts[i] = start
    this.#ends[i] = end
    this.#totals[i] = total
    this.bytes += end - start
  }

  /** Encode the planned frames and forget them. */
  encode (referenceMinBytes: number): Uint8ArrayList {
    const count = this.count
    let copied = 0
    for (let i = 0; i < count; i++) {
      const body = this.#ends[i] - this.#starts[i]
      const total = this.#totals[i]
      const length = 1 + (total >= 0 ? encodingLength(total) : 0) + body
      copied += encodingLength(length) + length - (body >= referenceMinBytes ? body : 0)
    }
    const buf = Buffer.allocUnsafe(copied)
    const out = new Uint8ArrayList()
    let start = 0
    let offset = 0
    for (let i = 0; i < count; i++) {
      const p = this.#payloads[i] as Uint8Array
      const from = this.#starts[i]
      const to = this.#ends[i]
      const body = to - from
      const total = this.#totals[i]
      const length = 1 + (total >= 0 ? encodingLength(total) : 0) + body
      encodeUint8Array(length, buf, offset)
      offset += encodingLength(length)
      buf[offset++] = this.#tags[i]
      if (total >= 0) {
        encodeUint8Array(total, buf, offset)
        offset += encodingLength(total)
      }
      if (body < referenceMinBytes) {
        buf.set(from === 0 && to === p.byteLength ? p : p.subarray(from, to), offset)
        offset += body
      } else {
        out.append(buf.subarray(start, offset))
        out.append(p.subarray(from, to))
        start = offset
      }
      this.#payloads[i] = undefined
    }
    if (offset > start) out.append(buf.subarray(start, offset))
    this.count = 0
    this.bytes = 0
    return out
  }
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
 * Called per decoded frame with the frame's payload, `chunk[start..end)`;
 * return false to stop decoding after this frame (the consumer is full).
 * The rest is kept, undecoded, until `resume()`. The bounds, not a view: a
 * sink that needs only part of the payload (a receiver strips the tag
 * byte) makes one view per frame, not two.
 */
export type FrameSink = (chunk: Uint8Array, start: number, end: number) => boolean

/** A sink of payload views: `sink` gets `chunk.subarray(start, end)` of every frame. */
export function viewSink (sink: (payload: Uint8Array) => boolean): FrameSink {
  return (chunk, start, end) => sink(chunk.subarray(start, end))
}

/**
 * Decodes frames from chunks as they arrive, synchronously, calling the sink
 * for each complete payload. A frame within one chunk is passed as its bounds
 * in the chunk (no copy); a frame spanning chunks is assembled once. The size a header
 * claims is checked before any byte of it is buffered.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number
  readonly #sink: FrameSink
  readonly #onChunkDone?: (chunkBytes: number) => void
  /**
   * Undecoded bytes: the start of a frame carried over between chunks, or,
   * while stopped, everything not yet decoded.
   */
  #pending = new Uint8ArrayList()
  #stopped = false

  /** `onChunkDone` is called after the frames of each chunk were passed to the sink, with the chunk's size. */
  constructor (maxFrameBytes: number, sink: FrameSink, onChunkDone?: (chunkBytes: number) => void) {
    this.maxFrameBytes = maxFrameBytes
    this.#sink = sink
    this.#onChunkDone = onChunkDone
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
    // payloads are views into the chunk they came in: a chunk that is a small
    // part of a large buffer (a socket's read pool) is copied first, so that
    // what a view pins is about what it shows
    if (buf.buffer.byteLength > 2 * buf.byteLength + SPARSE_SLACK_BYTES) buf = buf.slice()
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
      if (!this.#sink(buf, payloadStart, payloadEnd)) this.#stopped = true
    }
    if (offset < end) this.#pending.append(buf.subarray(offset))
    this.#onChunkDone?.(end)
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
    if (!this.#sink(payload, 0, payload.byteLength)) this.#stopped = true
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
