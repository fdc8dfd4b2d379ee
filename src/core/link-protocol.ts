import { randomBytes } from 'node:crypto'
import { decodeUint8Array, encodeUint8Array, encodingLength } from 'uint8-varint'
import { MalformedFrameError } from './errors.ts'
import type { Bytes } from './transport.ts'

/**
 * The control part of a mirnet stream (docs/wire-format.md): the sender's
 * hello, the first frame of every stream, and the receiver's acks, varints on
 * the reverse direction of the same stream.
 *
 * Every message a Dispatcher writes gets the next sequence number of its
 * incarnation (a random id per Dispatcher). The hello tells the receiver the
 * incarnation and the sequence number of the stream's first message; the
 * receiver answers with how many messages of that incarnation it has received
 * (or that it does not know the incarnation), then keeps acknowledging. So
 * after a broken connection the sender learns exactly which of the messages
 * it wrote arrived, and the receiver's periodic acks double as a keepalive.
 */

export const HELLO_VERSION = 1
export const INCARNATION_BYTES = 8

export interface Hello {
  /** Hex of the sender's incarnation id. */
  incarnation: string
  /** Sequence number of the first message after the hello. */
  firstSequence: number
}

export function newIncarnation (): Uint8Array {
  return randomBytes(INCARNATION_BYTES)
}

/** The hello frame's payload: version byte, incarnation, varint first sequence number. */
export function encodeHello (incarnation: Uint8Array, firstSequence: number): Uint8Array {
  const out = new Uint8Array(1 + INCARNATION_BYTES + encodingLength(firstSequence))
  out[0] = HELLO_VERSION
  out.set(incarnation, 1)
  encodeUint8Array(firstSequence, out, 1 + INCARNATION_BYTES)
  return out
}

/** The hello as the stream's first frame: length prefix and payload. */
export function encodeHelloFrame (incarnation: Uint8Array, firstSequence: number): Uint8Array {
  const payload = encodeHello(incarnation, firstSequence)
  const out = new Uint8Array(encodingLength(payload.byteLength) + payload.byteLength)
  encodeUint8Array(payload.byteLength, out, 0)
  out.set(payload, out.byteLength - payload.byteLength)
  return out
}

/** Throws `MalformedFrameError` for anything but a version-1 hello. */
export function decodeHello (payload: Uint8Array): Hello {
  if (payload.byteLength < 2 + INCARNATION_BYTES || payload[0] !== HELLO_VERSION) {
    throw new MalformedFrameError(`the first frame of a stream is not a version ${HELLO_VERSION} hello (${payload.byteLength} bytes, first byte ${payload[0] ?? 'none'})`)
  }
  let firstSequence: number
  try {
    firstSequence = decodeUint8Array(payload, 1 + INCARNATION_BYTES)
  } catch (err) {
    throw new MalformedFrameError(`hello has a malformed sequence number: ${(err as Error).message}`)
  }
  if (1 + INCARNATION_BYTES + encodingLength(firstSequence) !== payload.byteLength || !Number.isSafeInteger(firstSequence)) {
    throw new MalformedFrameError('hello has trailing bytes or an out-of-range sequence number')
  }
  return { incarnation: Buffer.from(payload.subarray(1, 1 + INCARNATION_BYTES)).toString('hex'), firstSequence }
}

/** The receiver's first varint: 0 when it does not know the incarnation, else received + 1. */
export function encodeResume (received: number | undefined): Uint8Array {
  return encodeAck(received === undefined ? 0 : received + 1)
}

/**
 * An ack: `2 × received + paused`, where `paused` (1) says the receiver has
 * stopped reading for a full inbox, so a sender sees no progress and knows
 * the receiver is alive, not cut off.
 */
export function encodeProgress (received: number, paused: boolean): Uint8Array {
  return encodeAck(received * 2 + (paused ? 1 : 0))
}

export function decodeProgress (value: number): { received: number, paused: boolean } {
  return { received: Math.floor(value / 2), paused: value % 2 === 1 }
}

/** One unsigned LEB128 varint. */
export function encodeAck (value: number): Uint8Array {
  const out = new Uint8Array(encodingLength(value))
  encodeUint8Array(value, out, 0)
  return out
}

/** Varints seen on the reverse direction, as they come (a varint may span chunks). */
export class AckDecoder {
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
      if (++this.#bytes > 8) throw new MalformedFrameError('ack varint is longer than 8 bytes')
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
