/**
 * The workload's messages: a header saying who sent it (node, life), on
 * which lane and with which sequence number, then filler whose bytes at
 * known places depend on the sequence number, so that a message cut,
 * spliced or reassembled wrongly is noticed without comparing every byte.
 */

export const HEADER_BYTES = 16
const MAGIC = 0x5e

/** The filler every payload is cut from (copied, so that the core owns what it is given). */
const FILLER = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff)

export interface PayloadHeader {
  /** Index of the sending node in the simulation (intruders count on from 100). */
  sender: number
  /** The sender's life (restarts count up). */
  life: number
  lane: number
  seq: number
  length: number
}

function mark (seq: number, position: number): number {
  return (seq * 31 + position) & 0xff
}

export function encodePayload (h: Omit<PayloadHeader, 'length'>, length: number): Uint8Array {
  const n = Math.max(HEADER_BYTES, length)
  const out = new Uint8Array(n)
  for (let offset = HEADER_BYTES; offset < n; offset += FILLER.length) {
    out.set(FILLER.subarray(0, Math.min(FILLER.length, n - offset)), offset)
  }
  const view = new DataView(out.buffer)
  out[0] = MAGIC
  out[1] = h.lane
  view.setUint16(2, h.sender)
  view.setUint32(4, h.life)
  view.setUint32(8, h.seq)
  view.setUint32(12, n)
  if (n > HEADER_BYTES) {
    const mid = HEADER_BYTES + ((n - HEADER_BYTES) >> 1)
    out[mid] = mark(h.seq, mid)
    out[n - 1] = mark(h.seq, n - 1)
  }
  return out
}

/** The header, or a reason why the bytes are not a whole payload of the workload. */
export function decodePayload (p: Uint8Array): PayloadHeader | string {
  if (p.byteLength < HEADER_BYTES || p[0] !== MAGIC) return `not a workload payload (${p.byteLength} bytes, first byte ${p[0]})`
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength)
  const h = { lane: p[1], sender: view.getUint16(2), life: view.getUint32(4), seq: view.getUint32(8), length: view.getUint32(12) }
  if (h.length !== p.byteLength) return `payload of ${p.byteLength} bytes says it has ${h.length}`
  const n = p.byteLength
  if (n > HEADER_BYTES) {
    const mid = HEADER_BYTES + ((n - HEADER_BYTES) >> 1)
    // the first filler byte is FILLER[0] unless a mark is there
    const firstFillerOk = mid === HEADER_BYTES || n - 1 === HEADER_BYTES || p[HEADER_BYTES] === FILLER[0]
    if (p[mid] !== mark(h.seq, mid) || p[n - 1] !== mark(h.seq, n - 1) || !firstFillerOk) {
      return `payload ${h.sender}/${h.life} lane ${h.lane} seq ${h.seq} of ${n} bytes is corrupt`
    }
  }
  return h
}
