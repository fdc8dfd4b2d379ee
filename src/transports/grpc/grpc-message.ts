/**
 * gRPC's length-prefixed messages (gRPC over HTTP/2: one byte compressed
 * flag, four bytes big-endian length, the message) carrying one protobuf
 * message of the link protocol:
 *
 * ```proto
 * // package mirnet.link.v1
 * message StreamRequest { bytes data = 1; }   // and StreamResponse, the same
 * service LinkService { rpc Stream(stream StreamRequest) returns (stream StreamResponse); }
 * ```
 *
 * `data` is a run of mirnet's byte stream: whatever the core wrote in one
 * `send()`, many frames at once, or part of one. The protobuf encoding of
 * such a message is the field tag (0x0a) and the varint length, then the
 * bytes; that prefix is written by hand and the bytes are referenced, not
 * copied, on both sides.
 */

/** A peer sent something that is not a well-formed, uncompressed link message within the size limit. */
export class GrpcMessageError extends Error {
  override name = 'GrpcMessageError'
}

/** Protobuf tag of field 1, wire type 2 (length-delimited): `bytes data = 1`. */
const DATA_TAG = 0x0a
/** The gRPC prefix (5) plus the tag (1) plus a varint of a 32-bit length (5 at most). */
const MAX_PREFIX_BYTES = 11

function varintLength (n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5
}

/**
 * The bytes that go before `dataBytes` bytes of data on the wire: gRPC
 * prefix, protobuf tag and length. `dataBytes` must be at least 1 and below 2^32 - 16.
 */
export function encodeMessagePrefix (dataBytes: number): Uint8Array {
  const v = varintLength(dataBytes)
  const messageBytes = 1 + v + dataBytes
  const prefix = Buffer.allocUnsafe(6 + v)
  prefix[0] = 0
  prefix.writeUInt32BE(messageBytes, 1)
  prefix[5] = DATA_TAG
  let n = dataBytes
  let i = 6
  while (n >= 0x80) {
    prefix[i++] = (n & 0x7f) | 0x80
    n >>>= 7
  }
  prefix[i] = n
  return prefix
}

/**
 * Reads link messages from the chunks of an HTTP/2 stream and hands on their
 * data as it arrives, as subarrays of the chunks (a message need not be
 * complete to be passed on: the data is a byte stream the core frames
 * itself). Only the prefix of a message is gathered, byte by byte.
 */
export class GrpcMessageDecoder {
  readonly #maxMessageBytes: number
  readonly #prefix = new Uint8Array(MAX_PREFIX_BYTES)
  #prefixLength = 0
  /** Data bytes of the current message still to come. */
  #remaining = 0

  /** `maxMessageBytes`: the largest data of one message accepted. */
  constructor (maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes
  }

  /** Whether the bytes so far end inside a message (a stream ending now was cut). */
  get partial (): boolean {
    return this.#prefixLength > 0 || this.#remaining > 0
  }

  /** Feed one chunk; `sink` gets each run of data. Throws `GrpcMessageError`. */
  push (chunk: Uint8Array, sink: (data: Uint8Array) => void): void {
    const end = chunk.byteLength
    let offset = 0
    while (offset < end) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, end - offset)
        sink(take === end && offset === 0 ? chunk : chunk.subarray(offset, offset + take))
        offset += take
        this.#remaining -= take
        continue
      }
      this.#prefix[this.#prefixLength++] = chunk[offset++]
      this.#prefixByte()
    }
  }

  /** One more prefix byte gathered: check what can be checked, start the data once the prefix is complete. */
  #prefixByte (): void {
    const p = this.#prefix
    const n = this.#prefixLength
    if (n < 5) return
    const messageBytes = ((p[1] << 24) >>> 0) + (p[2] << 16) + (p[3] << 8) + p[4]
    if (n === 5) {
      if (p[0] !== 0) throw new GrpcMessageError(`a gRPC message with flags ${p[0]}: compressed messages are not accepted (grpc-encoding identity only)`)
      if (messageBytes > this.#maxMessageBytes + MAX_PREFIX_BYTES) {
        throw new GrpcMessageError(`a gRPC message of ${messageBytes} bytes, more than the ${this.#maxMessageBytes} accepted`)
      }
      // an empty message: a StreamRequest without data
      if (messageBytes === 0) this.#prefixLength = 0
      return
    }
    if (n === 6) {
      if (p[5] !== DATA_TAG) throw new GrpcMessageError(`a gRPC message starting with protobuf tag 0x${p[5].toString(16)}, not field 1 (bytes data)`)
      return
    }
    const last = p[n - 1]
    if ((last & 0x80) !== 0) {
      if (n === MAX_PREFIX_BYTES) throw new GrpcMessageError('a gRPC message whose data length is not a 32-bit varint')
      return
    }
    let dataBytes = 0
    for (let i = n - 1; i >= 6; i--) dataBytes = dataBytes * 128 + (p[i] & 0x7f)
    if (1 + (n - 6) + dataBytes !== messageBytes) {
      throw new GrpcMessageError(`a gRPC message of ${messageBytes} bytes holding ${dataBytes} bytes of data and something else`)
    }
    this.#prefixLength = 0
    this.#remaining = dataBytes
  }
}
