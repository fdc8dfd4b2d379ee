import { randomBytes } from 'node:crypto'
import { decodeUint8Array, encodeUint8Array, encodingLength } from 'uint8-varint'
import { MalformedFrameError, ProtocolVersionError } from './errors.ts'
import type { Bytes } from './transport.ts'

/**
 * The control part of a mirnet stream (docs/wire-format.md, version 3).
 *
 * Sender to receiver, frames (frame-codec.ts): first the hello, then message
 * frames, each naming its lane and whether it is a whole message or a chunk
 * of one. Every message of a lane gets the next sequence number of that lane
 * in the sender's incarnation (a random id per Dispatcher); sequence numbers
 * are implied by the order of a lane's messages on a stream.
 *
 * Receiver to sender, varints: the answer to the hello (whether the receiver
 * knows the incarnation, and per lane the sequence number of the next
 * message it expects and its credit), then acks per lane (next expected,
 * bytes taken of the message in progress, credit, and whether the lane is
 * held: no credit). The credit is how many messages past `next` the sender
 * may write: what the receiver's inbox lane takes (inbox-credit.ts).
 *
 * The sender writes nothing after the hello until the answer. Then it
 * writes the resume frame: per lane, the sequence number of the first
 * message it writes on this stream (at least what the receiver expects; more
 * when it no longer holds the messages in between), resends what the
 * receiver lacks, and goes on. So both ends number every message alike and
 * nothing is delivered twice.
 */

export const LINK_PROTOCOL_VERSION = 3
export const INCARNATION_BYTES = 8
/**
 * Largest sequence number a hello or a resume frame may name: 2^48 messages
 * of one lane (nine years at a million per second), far enough from 2^53
 * that counting on from it stays exact and encodable.
 */
export const MAX_SEQUENCE = 2 ** 48
/** The first byte of the resume frame (bit 5 set: not a message frame). */
export const RESUME_TAG = 0x20

export interface Hello {
  /** Hex of the sender's incarnation id. */
  incarnation: string
  /** Per lane, the sequence number of the oldest message the sender still holds (can resend). */
  retained: number[]
}

/** What the receiver answers to a hello. */
export interface Answer {
  /** The receiver has a record of the incarnation (else it restarted, or never heard of it). */
  known: boolean
  /** Per lane, the sequence number of the next message expected. */
  next: number[]
  /** Per lane, how many messages past `next` the sender may write. */
  credit: number[]
}

/** Kinds of message frames (bits 3-4 of the frame's first byte). */
export const WHOLE = 0
export const FIRST_CHUNK = 1
export const MIDDLE_CHUNK = 2
export const LAST_CHUNK = 3

/**
 * A sender's incarnation: random bytes, from the system's CSPRNG, or from
 * `random` (numbers in [0, 1), as Math.random) when given, so that a
 * seeded simulation writes the same hellos every run.
 */
export function newIncarnation (random?: () => number): Uint8Array {
  if (random === undefined) return randomBytes(INCARNATION_BYTES)
  const out = new Uint8Array(INCARNATION_BYTES)
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(random() * 256)
  return out
}

/** The first byte of a message frame: lane number and kind. */
export function frameTag (lane: number, kind: number): number {
  return lane | (kind << 3)
}

/** The hello frame's payload: version, incarnation, lane count, varint per lane. */
export function encodeHello (incarnation: Uint8Array, retained: readonly number[]): Uint8Array {
  let size = 2 + INCARNATION_BYTES
  for (const r of retained) size += encodingLength(r)
  const out = new Uint8Array(size)
  out[0] = LINK_PROTOCOL_VERSION
  out.set(incarnation, 1)
  out[1 + INCARNATION_BYTES] = retained.length
  let offset = 2 + INCARNATION_BYTES
  for (const r of retained) {
    encodeUint8Array(r, out, offset)
    offset += encodingLength(r)
  }
  return out
}

/** The hello as the stream's first frame: length prefix and payload. */
export function encodeHelloFrame (incarnation: Uint8Array, retained: readonly number[]): Uint8Array {
  const payload = encodeHello(incarnation, retained)
  const out = new Uint8Array(encodingLength(payload.byteLength) + payload.byteLength)
  encodeUint8Array(payload.byteLength, out, 0)
  out.set(payload, out.byteLength - payload.byteLength)
  return out
}

/**
 * Throws `ProtocolVersionError` for another version's hello (version 1 had
 * no lanes), `MalformedFrameError` for anything else that is not a hello
 * with `1..maxLanes` lanes.
 */
export function decodeHello (payload: Uint8Array, maxLanes: number): Hello {
  if (payload.byteLength >= 1 && payload[0] !== LINK_PROTOCOL_VERSION && payload[0] >= 1 && payload[0] <= 15) {
    throw new ProtocolVersionError(`the peer speaks version ${payload[0]} of the mirnet link protocol, this node version ${LINK_PROTOCOL_VERSION}`)
  }
  if (payload.byteLength < 3 + INCARNATION_BYTES || payload[0] !== LINK_PROTOCOL_VERSION) {
    throw new MalformedFrameError(`the first frame of a stream is not a version ${LINK_PROTOCOL_VERSION} hello (${payload.byteLength} bytes, first byte ${payload[0] ?? 'none'})`)
  }
  const lanes = payload[1 + INCARNATION_BYTES]
  if (lanes < 1 || lanes > maxLanes) {
    throw new MalformedFrameError(`hello names ${lanes} lanes; this node has ${maxLanes} (members must share one lane configuration)`)
  }
  const retained: number[] = []
  let offset = 2 + INCARNATION_BYTES
  try {
    for (let i = 0; i < lanes; i++) {
      const r = decodeUint8Array(payload, offset)
      if (!(r <= MAX_SEQUENCE)) throw new Error(`${r} is above ${MAX_SEQUENCE}`)
      retained.push(r)
      offset += encodingLength(r)
    }
  } catch (err) {
    throw new MalformedFrameError(`hello has a malformed sequence number: ${(err as Error).message}`)
  }
  if (offset !== payload.byteLength) throw new MalformedFrameError('hello has trailing bytes')
  return { incarnation: Buffer.from(payload.subarray(1, 1 + INCARNATION_BYTES)).toString('hex'), retained }
}

/** The resume frame: length prefix, RESUME_TAG, varint first sequence number per lane. */
export function encodeResumeFrame (start: readonly number[]): Uint8Array {
  const body = encodeVarints(start)
  const out = new Uint8Array(encodingLength(body.byteLength + 1) + 1 + body.byteLength)
  encodeUint8Array(body.byteLength + 1, out, 0)
  out[out.byteLength - body.byteLength - 1] = RESUME_TAG
  out.set(body, out.byteLength - body.byteLength)
  return out
}

/** The resume frame's payload (tag included) for `lanes` lanes. Throws `MalformedFrameError`. */
export function decodeResume (payload: Uint8Array, lanes: number): number[] {
  if (payload[0] !== RESUME_TAG) {
    throw new MalformedFrameError(`the frame after the answer is not a resume frame (first byte ${payload[0] ?? 'none'})`)
  }
  const start: number[] = []
  let offset = 1
  try {
    for (let i = 0; i < lanes; i++) {
      const v = decodeUint8Array(payload, offset)
      if (!(v <= MAX_SEQUENCE)) throw new Error(`${v} is above ${MAX_SEQUENCE}`)
      start.push(v)
      offset += encodingLength(v)
    }
  } catch (err) {
    throw new MalformedFrameError(`resume frame has a malformed sequence number: ${(err as Error).message}`)
  }
  if (offset !== payload.byteLength) throw new MalformedFrameError('resume frame has trailing bytes')
  return start
}

/** The answer: varint known (0/1), varint lane count, varints next and credit per lane. */
export function encodeAnswer (answer: Answer): Uint8Array {
  const values = [answer.known ? 1 : 0, answer.next.length]
  for (let lane = 0; lane < answer.next.length; lane++) values.push(answer.next[lane], answer.credit[lane])
  return encodeVarints(values)
}

/** One lane's ack: varint `2 × lane + held`, varint next, varint bytes taken of the message in progress, varint credit. */
export function ackLength (lane: number, next: number, partialBytes: number, credit: number): number {
  return encodingLength(lane * 2 + 1) + encodingLength(next) + encodingLength(partialBytes) + encodingLength(credit)
}

/** Write one lane's ack into `out` at `offset` (held: the credit is 0); returns the offset after it. */
export function writeAck (out: Uint8Array, offset: number, lane: number, next: number, partialBytes: number, credit: number): number {
  const tag = lane * 2 + (credit === 0 ? 1 : 0)
  encodeUint8Array(tag, out, offset)
  offset += encodingLength(tag)
  encodeUint8Array(next, out, offset)
  offset += encodingLength(next)
  encodeUint8Array(partialBytes, out, offset)
  offset += encodingLength(partialBytes)
  encodeUint8Array(credit, out, offset)
  return offset + encodingLength(credit)
}

/** Unsigned LEB128 varints, back to back. */
export function encodeVarints (values: readonly number[]): Uint8Array {
  let size = 0
  for (const v of values) size += encodingLength(v)
  const out = new Uint8Array(size)
  let offset = 0
  for (const v of values) {
    encodeUint8Array(v, out, offset)
    offset += encodingLength(v)
  }
  return out
}

/** Varints as they come (a varint may span chunks). */
export class VarintDecoder {
  readonly #onValue: (value: number) => void
  #value = 0
  #scale = 1
  #bytes = 0

  constructor (onValue: (value: number) => void) {
    this.#onValue = onValue
  }

  /** Throws `MalformedFrameError` for a varint beyond 2^53. */
  push (data: Bytes): void {
    if (data instanceof Uint8Array) {
      this.#pushArray(data)
    } else {
      for (const buf of data) this.#pushArray(buf)
    }
  }

  #pushArray (buf: Uint8Array): void {
    for (let i = 0; i < buf.byteLength; i++) {
      const b = buf[i]
      this.#value += (b & 0x7f) * this.#scale
      if (++this.#bytes > 8) throw new MalformedFrameError('varint on the reverse direction is longer than 8 bytes')
      if (b < 0x80) {
        const value = this.#value
        this.#value = 0
        this.#scale = 1
        this.#bytes = 0
        this.#onValue(value)
      } else {
        this.#scale *= 128
      }
    }
  }
}

export interface ReverseHandler {
  onAnswer: (answer: Answer) => void
  /** `held`: the receiver gives no credit now (its inbox lane is behind); it still hears the sender. */
  onAck: (lane: number, next: number, partialBytes: number, credit: number, held: boolean) => void
}

/**
 * The sender's reader of the reverse direction: the answer, then acks.
 * Throws `MalformedFrameError` for a lane out of range or a malformed varint.
 */
export class ReverseDecoder {
  readonly #handler: ReverseHandler
  readonly #lanes: number
  readonly #varints: VarintDecoder
  /** Position in the answer (0 known, 1 count, 2.. next and credit per lane), then -1 while reading acks. */
  #answerAt = 0
  #known = false
  #next: number[] = []
  #ackField = 0
  #ackTag = 0
  #ackNext = 0
  #ackPartial = 0
  #credit: number[] = []

  constructor (lanes: number, handler: ReverseHandler) {
    this.#lanes = lanes
    this.#handler = handler
    this.#varints = new VarintDecoder(this.#onValue)
  }

  push (data: Bytes): void {
    this.#varints.push(data)
  }

  readonly #onValue = (value: number): void => {
    if (this.#answerAt >= 0) {
      this.#answerValue(value)
      return
    }
    if (this.#ackField === 0) {
      if (value >= this.#lanes * 2) throw new MalformedFrameError(`ack names lane ${value >> 1}; the stream has ${this.#lanes}`)
      this.#ackTag = value
      this.#ackField = 1
    } else if (this.#ackField === 1) {
      this.#ackNext = value
      this.#ackField = 2
    } else if (this.#ackField === 2) {
      this.#ackPartial = value
      this.#ackField = 3
    } else {
      this.#ackField = 0
      const held = (this.#ackTag & 1) === 1
      if (held !== (value === 0)) throw new MalformedFrameError(`an ack of lane ${this.#ackTag >> 1} says held=${String(held)} with credit ${value}`)
      this.#handler.onAck(this.#ackTag >> 1, this.#ackNext, this.#ackPartial, value, held)
    }
  }

  #answerValue (value: number): void {
    const at = this.#answerAt++
    if (at === 0) {
      if (value > 1) throw new MalformedFrameError(`the answer to the hello starts with ${value}, not 0 or 1`)
      this.#known = value === 1
    } else if (at === 1) {
      if (value !== this.#lanes) throw new MalformedFrameError(`the answer names ${value} lanes; the hello named ${this.#lanes}`)
    } else if ((at & 1) === 0) {
      this.#next.push(value)
    } else {
      this.#credit.push(value)
    }
    if (this.#answerAt === 2 + 2 * this.#lanes) {
      this.#answerAt = -1
      const answer = { known: this.#known, next: this.#next, credit: this.#credit }
      this.#next = []
      this.#credit = []
      this.#handler.onAnswer(answer)
    }
  }
}

/**
 * Hello and resume frame back to back, for a sender that knows the receiver
 * has never heard of its incarnation (tools, tests, a fresh peer): the
 * lanes start at `start`, and message frames may follow at once.
 */
export function encodeStreamOpening (incarnation: Uint8Array, start: readonly number[]): Uint8Array {
  return Buffer.concat([encodeHelloFrame(incarnation, start), encodeResumeFrame(start)])
}
