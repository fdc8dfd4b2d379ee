/**
 * Payloads decoded from an API request are views into the request's buffer
 * (protobuf-es `BinaryReader.bytes()` returns a subarray): a small message
 * queued for a slow member would pin the whole request, megabytes perhaps,
 * until it is sent. Such a payload is copied; a dense one (most of its
 * buffer) stays a view, since copying it would save nothing.
 */

/** Buffer bytes beyond twice the payload that are tolerated before copying. */
export const PAYLOAD_SLACK_BYTES = 4 * 1024

/**
 * `payload`, or a copy of it when its backing buffer is more than twice its
 * size plus the slack. Not `payload.slice()`: the API server decodes from
 * Node Buffers, whose `slice()` is another view.
 */
export function compactPayload (payload: Uint8Array): Uint8Array {
  return payload.buffer.byteLength > 2 * payload.byteLength + PAYLOAD_SLACK_BYTES ? new Uint8Array(payload) : payload
}
