/**
 * Fuzz cases for the mirnet wire format, link protocol version 3
 * (docs/wire-format.md), each with the verdict the format gives it, worked
 * out here independently of the daemon's decoder. A case is everything the
 * sender writes on a `/mirnet/3.0.0` stream, hello included. It is valid
 * when it is a whole number of frames, each with a 1–8 byte LEB128 length
 * of at most `maxFrameBytes` plus a tag byte and a size varint, where
 *
 * - the first frame is a version 3 hello naming the receiver's 3 lanes,
 *   each with a sequence number of at most 2^48 (a version 1 hello, or any
 *   other, is refused);
 * - the second is the resume frame: tag 0x20 and one varint per lane, each
 *   at least the hello's for that lane (the receiver has never heard of the
 *   incarnation) and at most 2^48, nothing after;
 * - every later frame is a message frame: a tag (lane < 3 in bits 0-2, kind
 *   0-3 in bits 3-4, bits 5-7 zero) and a body; a whole message of at most
 *   `maxFrameBytes`, or the chunks of one (first with the total size, at
 *   most `maxFrameBytes`, then middles, then the last), consecutive per
 *   lane, adding up to exactly the total, every chunk but the last leaving
 *   some of it to come;
 * - it does not end inside a chunked message.
 */

/** Lanes of the daemon under test (the default configuration: control, consensus, bulk). */
export const LANES = 3
/** The version byte of the hello this format describes (link protocol 3). */
const HELLO_VERSION = 3

const WHOLE = 0
const FIRST = 1
const MIDDLE = 2
const LAST = 3

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
  /** True when the bytes are an acceptable stream. */
  valid: boolean
  /** Messages a valid case delivers (whole ones and completed chunked ones); 0 for an invalid one. */
  messages: number
}

/** Unsigned LEB128 of any size. */
export function leb128 (value: bigint | number): number[] {
  const out: number[] = []
  let v = BigInt(value)
  do {
    const byte = Number(v & 0x7fn)
    v >>= 7n
    out.push(v > 0n ? byte | 0x80 : byte)
  } while (v > 0n)
  return out
}

/** A varint of at most 8 bytes at `at`, ending before `end`: [value, index after it], or undefined. */
function varint (bytes: Uint8Array, at: number, end: number): [bigint, number] | undefined {
  let value = 0n
  let shift = 0n
  for (let n = 0; n < 8; n++) {
    if (at + n >= end) return undefined
    const b = bytes[at + n]
    value |= BigInt(b & 0x7f) << shift
    shift += 7n
    if ((b & 0x80) === 0) return [value, at + n + 1]
  }
  return undefined
}

const MAX_SEQUENCE = 2n ** 48n

/** `lanes` varints of at most MAX_SEQUENCE from `at` to the end of `p`, or undefined. */
function sequenceNumbers (p: Uint8Array, at: number, lanes: number): bigint[] | undefined {
  const out: bigint[] = []
  for (let i = 0; i < lanes; i++) {
    const v = varint(p, at, p.byteLength)
    if (v === undefined || v[0] > MAX_SEQUENCE) return undefined
    out.push(v[0])
    at = v[1]
  }
  return at === p.byteLength ? out : undefined
}

/** The sequence numbers of a version 3 hello with `lanes` lanes, or undefined if `p` is not one. */
function helloRetained (p: Uint8Array, lanes: number): bigint[] | undefined {
  if (p.byteLength < 10 || p[0] !== HELLO_VERSION || p[9] !== lanes) return undefined
  return sequenceNumbers(p, 10, lanes)
}

/** Whether `p` is a resume frame for `lanes` lanes that starts no lane below `retained`. */
function isResume (p: Uint8Array, lanes: number, retained: bigint[]): boolean {
  if (p[0] !== 0x20) return false
  const start = sequenceNumbers(p, 1, lanes)
  return start !== undefined && start.every((s, i) => s >= retained[i])
}

/** The format's verdict on a whole stream: how many messages it delivers, or -1 if it is not valid. */
export function countMessages (bytes: Uint8Array, maxFrameBytes: number, lanes = LANES): number {
  const max = BigInt(maxFrameBytes)
  const open: Array<{ total: number, filled: number } | undefined> = new Array(lanes).fill(undefined)
  let i = 0
  let retained: bigint[] | undefined
  let resumed = false
  let messages = 0
  while (i < bytes.byteLength) {
    const header = varint(bytes, i, bytes.byteLength)
    if (header === undefined) return -1 // ends inside a header, or one longer than 8 bytes
    const [length, start] = header
    // a payload, a tag and a first chunk's size varint
    if (length > max + 9n) return -1
    if (BigInt(bytes.byteLength - start) < length) return -1 // ends inside a payload
    const p = bytes.subarray(start, start + Number(length))
    i = start + Number(length)
    if (retained === undefined) {
      retained = helloRetained(p, lanes)
      if (retained === undefined) return -1
      continue
    }
    if (!resumed) {
      if (!isResume(p, lanes, retained)) return -1
      resumed = true
      continue
    }
    if (p.byteLength === 0) return -1
    const lane = p[0] & 7
    const kind = p[0] >> 3
    if (kind > LAST || lane >= lanes) return -1
    const o = open[lane]
    if (kind === WHOLE) {
      if (o !== undefined || BigInt(p.byteLength - 1) > max) return -1
      messages++
    } else if (kind === FIRST) {
      if (o !== undefined) return -1
      const total = varint(p, 1, p.byteLength)
      if (total === undefined || total[0] > max) return -1
      const part = p.byteLength - total[1]
      if (part >= total[0]) return -1
      open[lane] = { total: Number(total[0]), filled: part }
    } else {
      if (o === undefined) return -1
      const filled = o.filled + p.byteLength - 1
      if (filled > o.total) return -1
      if (kind === LAST) {
        if (filled !== o.total) return -1
        open[lane] = undefined
        messages++
      } else {
        if (filled === o.total) return -1
        o.filled = filled
      }
    }
  }
  return open.some(o => o !== undefined) ? -1 : messages
}

function randomBytes (random: () => number, n: number): number[] {
  return Array.from({ length: n }, () => Math.floor(random() * 256))
}

function int (random: () => number, max: number): number {
  return Math.floor(random() * (max + 1))
}

function pick<T> (random: () => number, choices: readonly T[]): T {
  return choices[int(random, choices.length - 1)]
}

/** A frame: varint length and payload. */
export function frame (payload: number[]): number[] {
  return [...leb128(payload.length), ...payload]
}

/** A version 3 hello frame with a random incarnation and `retained` per lane, and the resume frame that starts every lane there. */
export function hello (random: () => number, retained: Array<number | bigint> = new Array(LANES).fill(0)): number[] {
  return [...helloOnly(random, retained), ...resume(retained)]
}

function helloOnly (random: () => number, retained: Array<number | bigint>): number[] {
  return frame([HELLO_VERSION, ...randomBytes(random, 8), retained.length, ...retained.flatMap(r => leb128(r))])
}

function resume (start: Array<number | bigint>): number[] {
  return frame([0x20, ...start.flatMap(s => leb128(s))])
}

const tag = (lane: number, kind: number): number => lane | (kind << 3)
const whole = (lane: number, body: number[]): number[] => frame([tag(lane, WHOLE), ...body])
const firstChunk = (lane: number, total: number | bigint, part: number[]): number[] => frame([tag(lane, FIRST), ...leb128(total), ...part])
const chunk = (lane: number, kind: number, part: number[]): number[] => frame([tag(lane, kind), ...part])

/**
 * Valid message frames: whole messages and chunked ones (2–5 chunks) on
 * every lane, chunks of different lanes interleaved; every chunked message
 * completed unless `leaveOpen`.
 */
function messageFrames (random: () => number, maxBody: number, leaveOpen = false): number[] {
  const out: number[] = []
  // per lane, the chunks of the message in progress still to write
  const pending: number[][][] = Array.from({ length: LANES }, () => [])
  const n = 1 + int(random, 20)
  for (let f = 0; f < n; f++) {
    const lane = int(random, LANES - 1)
    const rest = pending[lane]
    if (rest.length > 0) {
      const part = rest.shift() as number[]
      out.push(...chunk(lane, rest.length === 0 ? LAST : MIDDLE, part))
    } else if (random() < 0.7) {
      out.push(...whole(lane, randomBytes(random, random() < 0.2 ? 0 : int(random, maxBody))))
    } else {
      const parts = Array.from({ length: 2 + int(random, 3) }, (_, k) => randomBytes(random, (k === 0 ? 0 : 1) + int(random, maxBody)))
      const total = parts.reduce((s, p) => s + p.length, 0)
      out.push(...firstChunk(lane, total, parts[0]))
      pending[lane] = parts.slice(1)
    }
  }
  if (!leaveOpen) {
    for (let lane = 0; lane < LANES; lane++) {
      const rest = pending[lane]
      while (rest.length > 0) {
        const part = rest.shift() as number[]
        out.push(...chunk(lane, rest.length === 0 ? LAST : MIDDLE, part))
      }
    }
  }
  return out
}

/** A hello and valid message frames. */
function validStream (random: () => number, maxBody: number): number[] {
  return [...hello(random), ...messageFrames(random, maxBody)]
}

type Generator = (random: () => number, max: number) => number[]

/** Kinds of case with their weights. */
const GENERATORS: Array<[string, number, Generator]> = [
  // anything at all after a hello, or instead of one
  ['random', 10, r => [...hello(r), ...randomBytes(r, int(r, 512))]],
  ['random-no-hello', 4, r => randomBytes(r, int(r, 512))],
  ['valid', 15, r => validStream(r, 300)],
  ['empty-stream', 1, () => []],
  ['hello-only', 2, r => hello(r)],
  // whole messages with empty bodies (a tag byte only): valid
  ['empty-messages', 3, r => [...hello(r), ...Array.from({ length: 1 + int(r, 200) }, () => whole(int(r, LANES - 1), [])).flat()]],
  // frames of length 0 (not even a tag): invalid
  ['zero-length-frames', 3, r => [...hello(r), ...messageFrames(r, 50), ...new Array<number>(1 + int(r, 1000)).fill(0)]],
  // a valid stream cut anywhere (inside a header, a payload, a chunked message, or between frames)
  ['truncated', 10, r => {
    const all = validStream(r, 300)
    return all.slice(0, int(r, all.length - 1))
  }],
  // length prefixes from just over the maximum up to 2^64 and beyond
  ['huge-length', 6, (r, max) => {
    const choices = [BigInt(max) + 10n, 2n ** 53n, 2n ** 56n - 1n, 2n ** 56n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 64n + 1n, 2n ** 70n, 2n ** 128n]
    const value = r() < 0.5 ? pick(r, choices) : BigInt(max) + 10n + (BigInt(int(r, 2 ** 30)) << BigInt(int(r, 60)))
    return [...hello(r), ...leb128(value), ...randomBytes(r, int(r, 64))]
  }],
  // continuation bits with no end, or more than 8 bytes of header
  ['long-header', 4, r => [...hello(r), ...new Array<number>(1 + int(r, 14)).fill(r() < 0.5 ? 0x80 : 0xff), ...(r() < 0.5 ? [0] : [])]],
  // a whole message's length written with more bytes than needed (1–8 bytes: fine; more: not)
  ['non-canonical-length', 4, r => {
    const body = randomBytes(r, int(r, 100))
    const header = leb128(1 + body.length)
    const width = 1 + int(r, 9)
    while (header.length < width) {
      header[header.length - 1] |= 0x80
      header.push(0)
    }
    return [...hello(r), ...header, tag(int(r, LANES - 1), WHOLE), ...body]
  }],
  // a whole message or a chunked message of exactly the maximum, and one byte more
  ['at-maximum', 3, (r, max) => {
    const size = max + (r() < 0.5 ? 0 : 1)
    const lane = int(r, LANES - 1)
    if (r() < 0.5) return [...hello(r), ...whole(lane, new Array<number>(size).fill(0x61))]
    const quarter = Math.ceil(size / 4)
    const parts = [0, 1, 2, 3].map(k => new Array<number>(Math.min(quarter, size - k * quarter)).fill(0x62))
    return [...hello(r), ...firstChunk(lane, size, parts[0]), ...chunk(lane, MIDDLE, parts[1]), ...chunk(lane, MIDDLE, parts[2]), ...chunk(lane, LAST, parts[3])]
  }],
  // valid frames, then garbage
  ['valid-then-garbage', 5, r => [...validStream(r, 100), ...randomBytes(r, 1 + int(r, 64))]],
  // a tag with a lane the receiver does not have (3-7), or a kind beyond 3 (bits 5-7 set), among valid frames
  ['bad-tag', 6, r => {
    const bad = r() < 0.5 ? tag(3 + int(r, 4), int(r, 3)) : (1 + int(r, 6)) << 5 | int(r, 31)
    return [...validStream(r, 100), ...frame([bad, ...randomBytes(r, int(r, 50))]), ...messageFrames(r, 100)]
  }],
  // chunks out of order on one lane
  ['chunk-out-of-order', 6, r => {
    const lane = int(r, LANES - 1)
    const part = (): number[] => randomBytes(r, 1 + int(r, 50))
    const broken = pick(r, [
      () => chunk(lane, MIDDLE, part()), // a middle chunk without a first
      () => chunk(lane, LAST, part()), // a last chunk without a first
      () => [...firstChunk(lane, 1000, part()), ...firstChunk(lane, 1000, part())], // a first chunk while one is in progress
      () => [...firstChunk(lane, 1000, part()), ...whole(lane, part())], // a whole message inside a chunked one
      () => [...firstChunk(lane, 1000, part()), ...chunk(lane, LAST, part()), ...chunk(lane, MIDDLE, part())] // last, then a middle
    ])()
    return [...validStream(r, 100), ...broken, ...messageFrames(r, 100)]
  }],
  // a first chunk announcing more than the maximum
  ['total-over-max', 3, (r, max) => {
    const total = pick(r, [BigInt(max) + 1n, BigInt(max) * 2n, 2n ** 32n, 2n ** 53n, 2n ** 56n - 1n])
    return [...validStream(r, 100), ...firstChunk(int(r, LANES - 1), total, randomBytes(r, 1 + int(r, 100)))]
  }],
  // chunks that do not add up to the total they announce
  ['chunks-exceed-total', 5, r => {
    const lane = int(r, LANES - 1)
    const total = 20 + int(r, 200)
    const head = randomBytes(r, 10)
    const broken = pick(r, [
      () => [...firstChunk(lane, total, head), ...chunk(lane, LAST, randomBytes(r, total - 10 + 1 + int(r, 50)))], // past the total
      () => [...firstChunk(lane, total, head), ...chunk(lane, MIDDLE, randomBytes(r, total - 10 + 1 + int(r, 50)))], // a middle past the total
      () => [...firstChunk(lane, total, head), ...chunk(lane, LAST, randomBytes(r, int(r, total - 11)))], // a last chunk short of it
      () => [...firstChunk(lane, total, head), ...chunk(lane, MIDDLE, randomBytes(r, total - 10)), ...chunk(lane, LAST, [])], // a middle completing it
      () => firstChunk(lane, total, randomBytes(r, total + int(r, 10))), // a first chunk holding all of it, or more
      () => firstChunk(lane, 0, []) // a chunked message of nothing
    ])()
    return [...validStream(r, 100), ...broken, ...messageFrames(r, 100)]
  }],
  // a stream that ends inside a chunked message (between its frames)
  ['end-mid-chunked', 5, r => {
    const lane = int(r, LANES - 1)
    const middles = Array.from({ length: int(r, 2) }, () => chunk(lane, MIDDLE, randomBytes(r, 1 + int(r, 100)))).flat()
    return [...validStream(r, 100), ...firstChunk(lane, 5000, randomBytes(r, 1 + int(r, 100))), ...middles, ...(r() < 0.5 ? whole((lane + 1) % LANES, randomBytes(r, 10)) : [])]
  }],
  // a version 1 hello (version, incarnation, first sequence number), then frames as version 1 wrote them
  ['hello-v1', 4, r => [...frame([1, ...randomBytes(r, 8), ...leb128(int(r, 1000))]), ...frame(randomBytes(r, 20)), ...messageFrames(r, 50)]],
  // a version 2 hello (before the credit), then what a version 2 sender wrote
  ['hello-v2', 3, r => [...frame([2, ...randomBytes(r, 8), 3, 0, 0, 0]), ...frame([0x20, 0, 0, 0]), ...messageFrames(r, 50)]],
  // other hellos that are not a version 3 hello for 3 lanes
  ['hello-bad', 5, r => {
    const inc = randomBytes(r, 8)
    return [...pick(r, [
      () => frame([HELLO_VERSION, ...inc, 0]), // no lanes
      () => frame([HELLO_VERSION, ...inc, 2, 0, 0]), // fewer lanes than the receiver's
      () => frame([HELLO_VERSION, ...inc, 4, 0, 0, 0, 0]), // more
      () => frame([HELLO_VERSION, ...inc, 8, ...new Array<number>(8).fill(0)]),
      () => frame([pick(r, [0, 3, 15, 0x40, 0xff]), ...inc, 3, 0, 0, 0]), // another version, or none
      () => frame([HELLO_VERSION, ...inc.slice(0, int(r, 7))]), // short
      () => frame([HELLO_VERSION, ...inc, 3, 0, 0]), // a varint missing
      () => frame([HELLO_VERSION, ...inc, 3, 0, 0, 0, ...randomBytes(r, 1 + int(r, 5))]), // trailing bytes
      () => frame([HELLO_VERSION, ...inc, 3, 0, ...leb128(2n ** 53n + BigInt(int(r, 1000))), 0]), // a sequence number past 2^53
      () => frame([HELLO_VERSION, ...inc, 3, 0, 0x80, 0x80]) // an unterminated varint
    ])(), ...messageFrames(r, 50)]
  }],
  // a hello that says the sender holds messages from some sequence number on (up to past 2^48)
  ['hello-retained', 3, r => [...hello(r, Array.from({ length: LANES }, () => pick(r, [0, int(r, 1000), int(r, 2 ** 31), 2 ** 48, 2 ** 48 + 1, Number.MAX_SAFE_INTEGER]))), ...messageFrames(r, 100)]],
  // a hello, then no resume frame, a bad one, or one that starts a lane below the hello's
  ['resume-bad', 4, r => {
    const retained = Array.from({ length: LANES }, () => pick(r, [0, int(r, 1000)]))
    return [...helloOnly(r, retained), ...pick(r, [
      () => [],
      () => resume(retained.slice(0, LANES - 1)), // a lane missing
      () => frame([0x20, ...retained.flatMap(x => leb128(x)), 0]), // trailing bytes
      () => resume(retained.map((x, i) => i === 0 ? x - 1 : x)), // below the hello (invalid where the hello's is 0 too: -1 does not encode)
      () => frame([0x21, ...retained.flatMap(x => leb128(x))]) // not the resume tag
    ].filter((_, i) => i !== 3 || retained[0] > 0))(), ...messageFrames(r, 50)]
  }]
]

const TOTAL_WEIGHT = GENERATORS.reduce((sum, [, w]) => sum + w, 0)

/** One case, its bytes split into 1–4 chunks. */
export function fuzzCase (random: () => number, maxFrameBytes: number): FuzzCase {
  let p = random() * TOTAL_WEIGHT
  let chosen = GENERATORS[0]
  for (const g of GENERATORS) {
    p -= g[1]
    if (p < 0) {
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
  const messages = countMessages(bytes, maxFrameBytes)
  return { kind: chosen[0], bytes, chunks, valid: messages >= 0, messages: Math.max(messages, 0) }
}

/** Kinds of case, for reports and tests. */
export const FUZZ_KINDS = GENERATORS.map(([kind]) => kind)

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
  ['mirnet-frames-in-clear', 10, r => validStream(r, 100)]
]

const RAW_TOTAL_WEIGHT = RAW_GENERATORS.reduce((sum, [, w]) => sum + w, 0)

/** One case of raw bytes for the TCP port. */
export function rawCase (random: () => number): { kind: string, bytes: Uint8Array } {
  let p = random() * RAW_TOTAL_WEIGHT
  for (const [kind, weight, generate] of RAW_GENERATORS) {
    p -= weight
    if (p < 0) return { kind, bytes: Uint8Array.from(generate(random)) }
  }
  const [kind, , generate] = RAW_GENERATORS[0]
  return { kind, bytes: Uint8Array.from(generate(random)) }
}
