/**
 * Fuzz cases for the mirnet wire format (docs/wire-format.md), each with the
 * verdict the format gives it, worked out here independently of the
 * daemon's decoder: a stream is valid when it is a whole number of frames,
 * each with a 1–8 byte LEB128 length of at most `maxFrameBytes`.
 */

/** A small seeded PRNG (mulberry32): the same seed gives the same cases. */
export function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface FuzzCase {
  kind: string
  bytes: Uint8Array
  /** The bytes split as they are written (exercises frames across chunks). */
  chunks: Uint8Array[]
  /** True when the bytes are a whole number of acceptable frames. */
  valid: boolean
  /** Frames in a valid case, 0 in an invalid one. */
  frames: number
}

/** Unsigned LEB128 of any size. */
export function leb128 (value: bigint): number[] {
  const out: number[] = []
  let v = value
  do {
    const byte = Number(v & 0x7fn)
    v >>= 7n
    out.push(v > 0n ? byte | 0x80 : byte)
  } while (v > 0n)
  return out
}

/** The format's verdict on a whole stream: how many frames it holds, or -1 if it is not valid. */
export function countFrames (bytes: Uint8Array, maxFrameBytes: number): number {
  let i = 0
  let frames = 0
  while (i < bytes.byteLength) {
    let value = 0n
    let shift = 0n
    let headerBytes = 0
    for (;;) {
      if (i >= bytes.byteLength) return -1 // ends inside a header
      const b = bytes[i++]
      headerBytes++
      if (headerBytes > 8) return -1
      value |= BigInt(b & 0x7f) << shift
      shift += 7n
      if ((b & 0x80) === 0) break
    }
    if (value > BigInt(maxFrameBytes)) return -1
    if (BigInt(bytes.byteLength - i) < value) return -1 // ends inside a payload
    i += Number(value)
    frames++
  }
  return frames
}

function randomBytes (random: () => number, n: number): number[] {
  return Array.from({ length: n }, () => Math.floor(random() * 256))
}

function int (random: () => number, max: number): number {
  return Math.floor(random() * (max + 1))
}

function validFrames (random: () => number, maxPayload: number): number[] {
  const out: number[] = []
  const n = 1 + int(random, 20)
  for (let f = 0; f < n; f++) {
    const len = random() < 0.2 ? 0 : int(random, maxPayload)
    out.push(...leb128(BigInt(len)), ...randomBytes(random, len))
  }
  return out
}

type Generator = (random: () => number, max: number) => number[]

/** Kinds of case with their weights. */
const GENERATORS: Array<[string, number, Generator]> = [
  // anything at all
  ['random', 20, r => randomBytes(r, int(r, 512))],
  ['valid', 15, r => validFrames(r, 300)],
  ['zero-length-frames', 8, r => new Array<number>(1 + int(r, 1000)).fill(0)],
  ['empty-stream', 2, () => []],
  // a valid stream cut anywhere
  ['truncated', 15, r => {
    const all = validFrames(r, 300)
    return all.slice(0, int(r, all.length - 1))
  }],
  // length prefixes from just over the maximum up to 2^64 and beyond
  ['huge-length', 15, (r, max) => {
    const choices = [BigInt(max) + 1n, 2n ** 53n, 2n ** 56n - 1n, 2n ** 56n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 64n + 1n, 2n ** 70n, 2n ** 128n]
    const value = r() < 0.5 ? choices[int(r, choices.length - 1)] : BigInt(max) + 1n + (BigInt(int(r, 2 ** 30)) << BigInt(int(r, 60)))
    return [...leb128(value), ...randomBytes(r, int(r, 64))]
  }],
  // continuation bits with no end, or more than 8 bytes of header
  ['long-header', 8, r => [...new Array<number>(1 + int(r, 14)).fill(r() < 0.5 ? 0x80 : 0xff), ...(r() < 0.5 ? [0] : [])]],
  // a small length written with more bytes than needed (still 1–8 bytes, or not)
  ['non-canonical', 7, r => {
    const len = int(r, 100)
    const width = 1 + int(r, 9)
    const header = leb128(BigInt(len))
    while (header.length < width) {
      header[header.length - 1] |= 0x80
      header.push(0)
    }
    return [...header, ...randomBytes(r, len)]
  }],
  // exactly the maximum, and one byte more
  ['at-maximum', 2, (r, max) => r() < 0.5
    ? [...leb128(BigInt(max)), ...new Array<number>(max).fill(0x61)]
    : [...leb128(BigInt(max) + 1n), ...new Array<number>(int(r, 1000)).fill(0x61)]],
  // valid frames, then garbage
  ['valid-then-garbage', 8, r => [...validFrames(r, 100), ...randomBytes(r, 1 + int(r, 64))]]
]

const TOTAL_WEIGHT = GENERATORS.reduce((sum, [, w]) => sum + w, 0)

/** One case, its bytes split into 1–4 chunks. */
export function fuzzCase (random: () => number, maxFrameBytes: number): FuzzCase {
  let pick = random() * TOTAL_WEIGHT
  let chosen = GENERATORS[0]
  for (const g of GENERATORS) {
    pick -= g[1]
    if (pick < 0) {
      chosen = g
      break
    }
  }
  const bytes = Uint8Array.from(chosen[2](random, maxFrameBytes))
  const cuts = Array.from({ length: int(random, 3) }, () => int(random, bytes.byteLength)).sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let from = 0
  for (const cut of [...cuts, bytes.byteLength]) {
    if (cut > from) chunks.push(bytes.subarray(from, cut))
    from = Math.max(from, cut)
  }
  const frames = countFrames(bytes, maxFrameBytes)
  return { kind: chosen[0], bytes, chunks, valid: frames >= 0, frames: Math.max(frames, 0) }
}

const enc = new TextEncoder()

/** A multistream-select message: varint length, then the text and a newline. */
function multistream (text: string): number[] {
  const body = enc.encode(text + '\n')
  return [...leb128(BigInt(body.byteLength)), ...body]
}

const HANDSHAKE = [...multistream('/multistream/1.0.0'), ...multistream('/noise')]

/** Bytes for the libp2p TCP port before any Noise handshake has authenticated anyone. */
const RAW_GENERATORS: Array<[string, number, (random: () => number) => number[]]> = [
  ['random', 30, r => randomBytes(r, 1 + int(r, 1024))],
  ['zeros', 5, r => new Array<number>(1 + int(r, 256)).fill(0)],
  ['huge-length', 15, r => [...leb128([2n ** 64n - 1n, 2n ** 64n, 2n ** 70n, 2n ** 32n][int(r, 3)]), ...randomBytes(r, int(r, 32))]],
  ['multistream-garbage', 20, r => [...multistream('/multistream/1.0.0'), ...randomBytes(r, 1 + int(r, 256))]],
  ['multistream-unknown-protocol', 5, r => [...multistream('/multistream/1.0.0'), ...multistream(`/plaintext/${int(r, 9)}.0.0`)]],
  // a Noise handshake message (2-byte length) that is garbage, or claims 64 KiB and stops short
  ['noise-garbage', 15, r => [...HANDSHAKE, ...(r() < 0.5 ? [0, 32, ...randomBytes(r, 32)] : [0xff, 0xff, ...randomBytes(r, int(r, 512))])]],
  ['mirnet-frames-in-clear', 10, r => validFrames(r, 100)]
]

const RAW_TOTAL_WEIGHT = RAW_GENERATORS.reduce((sum, [, w]) => sum + w, 0)

/** One case of raw bytes for the TCP port. */
export function rawCase (random: () => number): { kind: string, bytes: Uint8Array } {
  let pick = random() * RAW_TOTAL_WEIGHT
  for (const [kind, weight, generate] of RAW_GENERATORS) {
    pick -= weight
    if (pick < 0) return { kind, bytes: Uint8Array.from(generate(random)) }
  }
  const [kind, , generate] = RAW_GENERATORS[0]
  return { kind, bytes: Uint8Array.from(generate(random)) }
}
