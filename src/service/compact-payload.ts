/**
 * Payloads decoded from an API request are views into the request's buffer
 * (protobuf-es `BinaryReader.bytes()` returns a subarray): a small message
 * queued for a slow member would pin the whole request, megabytes perhaps,
 * until it is sent. Such a payload is copied; a dense one (most of its
 * buffer) stays a view, since copying it would save nothing.
 *
 * Small copies are carved from shared slabs of `PAYLOAD_SLACK_BYTES`, so a
 * copy pins no more than the slack allows a view to: one slab allocation
 * serves many messages, where an ArrayBuffer of its own per message (a
 * backing store the garbage collector tracks) cost a daemon about 1 µs a
 * message at 256 B.
 */

/** Buffer bytes beyond twice the payload that are tolerated before copying; also the size of a copy slab. */
export const PAYLOAD_SLACK_BYTES = 4 * 1024

/** Copies up to this size come from a shared slab; larger ones get a buffer of their own. */
export const SLAB_COPY_MAX_BYTES = PAYLOAD_SLACK_BYTES / 4

/** Copies start on 8-byte boundaries within a slab. */
const ALIGN = 8

let slab = new Uint8Array(0)
let slabOffset = 0

/**
 * `payload`, or a copy of it when its backing buffer is more than twice its
 * size plus the slack. Not `payload.slice()`: the API server decodes from
 * Node Buffers, whose `slice()` is another view.
 */
export function compactPayload (payload: Uint8Array): Uint8Array {
  const n = payload.byteLength
  if (payload.buffer.byteLength <= 2 * n + PAYLOAD_SLACK_BYTES) return payload
  if (n > SLAB_COPY_MAX_BYTES) return new Uint8Array(payload)
  if (slabOffset + n > slab.byteLength) {
    slab = new Uint8Array(PAYLOAD_SLACK_BYTES)
    slabOffset = 0
  }
  const copy = slab.subarray(slabOffset, slabOffset + n)
  copy.set(payload)
  slabOffset += (n + ALIGN - 1) & -ALIGN
  return copy
}
