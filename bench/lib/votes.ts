/**
 * The votes of the `hol` scenario: small messages stamped with their send
 * time (`monotonicMs()`), told apart from bulk payloads by size and a tag, so
 * that a receiver can take one-way latency from the stream.
 */

/**
 * CLOCK_MONOTONIC in ms: one clock for every process on the host, so a stamp
 * taken by the sender can be subtracted in the receiver (epoch ms from
 * `performance.timeOrigin` is read once per process from the wall clock and
 * was off by milliseconds between two processes: negative latencies).
 */
export function monotonicMs (): number {
  return Number(process.hrtime.bigint()) / 1e6
}

export const VOTE_BYTES = 256
/** First byte of a vote ('V'). Bulk payloads of the `hol` scenario start with 0. */
const VOTE_TAG = 0x56
const STAMP_OFFSET = 8

/** A vote stamped `sentAtMs`; a fresh buffer each time (the module owns what it is given). */
export function makeVote (sentAtMs: number): Uint8Array {
  const vote = new Uint8Array(VOTE_BYTES)
  vote[0] = VOTE_TAG
  new DataView(vote.buffer).setFloat64(STAMP_OFFSET, sentAtMs, true)
  return vote
}

/** The send stamp of a vote, or undefined for any other payload. */
export function voteSentAt (payload: Uint8Array): number | undefined {
  if (payload.byteLength !== VOTE_BYTES || payload[0] !== VOTE_TAG) return undefined
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getFloat64(STAMP_OFFSET, true)
}
