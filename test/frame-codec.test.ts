import { describe, expect, it } from '@jest/globals'
import { decodeUint8Array, encodingLength } from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { encodeHeader, FrameDecoder, FramePlan, viewSink } from '../src/core/frame-codec.ts'
import { FIRST_CHUNK, LAST_CHUNK, MIDDLE_CHUNK, WHOLE, frameTag } from '../src/core/link-protocol.ts'

function payloads (sizes: number[]): Uint8Array[] {
  return sizes.map((n, i) => new Uint8Array(n).fill(i + 1))
}

/** Raw frames (length prefix + bytes) as a hand-written stream would carry them. */
function rawFrames (ps: Uint8Array[]): Uint8Array {
  return Buffer.concat(ps.flatMap(p => [encodeHeader(p.byteLength), p]))
}

function decodeAll (chunks: Array<Uint8Array | Uint8ArrayList>, max = 1 << 20): Uint8Array[] {
  const out: Uint8Array[] = []
  const d = new FrameDecoder(max, viewSink(p => { out.push(p.slice()); return true }))
  for (const c of chunks) d.push(c)
  expect(d.bufferedBytes).toBe(0)
  return out
}

interface Frame {
  lane: number
  kind: number
  /** The message size a first chunk announces, else -1. */
  total: number
  body: Uint8Array
}

/** A decoded frame's payload read as a message frame: tag, total for a first chunk, body. */
function parse (payload: Uint8Array): Frame {
  const tag = payload[0]
  const kind = tag >> 3
  let offset = 1
  let total = -1
  if (kind === FIRST_CHUNK) {
    total = decodeUint8Array(payload, 1)
    offset += encodingLength(total)
  }
  return { lane: tag & 7, kind, total, body: payload.slice(offset) }
}

describe('frame codec', () => {
  const sample = payloads([0, 1, 127, 128, 300, 16_384, 70_000])

  describe('FramePlan', () => {
    /** Whole messages on lane 1, small ones (< 200 bytes) copied, large ones referenced: both paths in one batch. */
    function wholeFrames (ps: Uint8Array[]): Uint8Array {
      const plan = new FramePlan()
      for (const p of ps) plan.add(frameTag(1, WHOLE), p, 0, p.byteLength, -1)
      expect(plan.count).toBe(ps.length)
      expect(plan.bytes).toBe(ps.reduce((n, p) => n + p.byteLength, 0))
      const wire = plan.encode(200)
      expect(plan.count).toBe(0)
      expect(plan.bytes).toBe(0)
      return wire.subarray()
    }

    it('encodes whole messages that decode back with their tag', () => {
      const frames = decodeAll([wholeFrames(sample)]).map(parse)
      expect(frames.map(f => [f.lane, f.kind, f.total])).toEqual(sample.map(() => [1, WHOLE, -1]))
      expect(frames.map(f => f.body)).toEqual(sample)
    })

    it('references large slices instead of copying them', () => {
      const big = new Uint8Array(1000).fill(7)
      const plan = new FramePlan()
      plan.add(frameTag(0, WHOLE), Uint8Array.of(1, 2, 3), 0, 3, -1)
      plan.add(frameTag(0, WHOLE), big, 0, 1000, -1)
      const wire = plan.encode(200)
      // header and small frame copied, the large payload referenced as it is
      expect(wire.byteLength).toBe(1 + 1 + 3 + 2 + 1 + 1000)
      expect([...wire].some(b => b.buffer === big.buffer && b.byteLength === 1000)).toBe(true)
    })

    it('encodes a message in chunks (first with its total, middles, last) interleaved with other lanes', () => {
      const large = Uint8Array.from({ length: 50_000 }, (_, i) => i % 251)
      const small = Uint8Array.of(9, 9, 9)
      const chunk = 16_384
      const plan = new FramePlan()
      for (let start = 0; start < large.byteLength; start += chunk) {
        const end = Math.min(large.byteLength, start + chunk)
        const kind = start === 0 ? FIRST_CHUNK : end === large.byteLength ? LAST_CHUNK : MIDDLE_CHUNK
        plan.add(frameTag(2, kind), large, start, end, kind === FIRST_CHUNK ? large.byteLength : -1)
        plan.add(frameTag(0, WHOLE), small, 0, small.byteLength, -1)
      }
      const wire = plan.encode(4096).subarray()
      for (const split of [[wire], [wire.subarray(0, 5), wire.subarray(5, 20_000), wire.subarray(20_000)]]) {
        const frames = decodeAll(split).map(parse)
        expect(frames.map(f => [f.lane, f.kind, f.total])).toEqual([
          [2, FIRST_CHUNK, 50_000], [0, WHOLE, -1],
          [2, MIDDLE_CHUNK, -1], [0, WHOLE, -1],
          [2, MIDDLE_CHUNK, -1], [0, WHOLE, -1],
          [2, LAST_CHUNK, -1], [0, WHOLE, -1]
        ])
        const rebuilt = Buffer.concat(frames.filter(f => f.lane === 2).map(f => f.body))
        expect(new Uint8Array(rebuilt)).toEqual(large)
        for (const f of frames.filter(f => f.lane === 0)) expect(f.body).toEqual(small)
      }
    })

    it('is reused from write to write', () => {
      const plan = new FramePlan()
      const a = Uint8Array.of(1)
      plan.add(frameTag(0, WHOLE), a, 0, 1, -1)
      const first = plan.encode(200).subarray()
      plan.add(frameTag(0, WHOLE), Uint8Array.of(2, 2), 0, 2, -1)
      const second = plan.encode(200).subarray()
      expect([...first]).toEqual([2, 0, 1])
      expect([...second]).toEqual([3, 0, 2, 2])
    })
  })

  describe('FrameDecoder', () => {
    it('round-trips frames of every size class in one chunk', () => {
      expect(decodeAll([rawFrames(sample)])).toEqual(sample)
    })

    it('round-trips when the stream is split at every byte position', () => {
      const small = payloads([0, 5, 130, 2])
      const wire = rawFrames(small)
      for (let cut = 0; cut <= wire.byteLength; cut++) {
        expect(decodeAll([wire.subarray(0, cut), wire.subarray(cut)])).toEqual(small)
      }
    })

    it('round-trips one byte at a time and through Uint8ArrayLists', () => {
      const wire = rawFrames(sample)
      const bytes = Array.from(wire, b => Uint8Array.of(b))
      expect(decodeAll(bytes)).toEqual(sample)
      const list = new Uint8ArrayList(wire.subarray(0, 1000), wire.subarray(1000, 1001), wire.subarray(1001))
      expect(decodeAll([list])).toEqual(sample)
    })

    it('refuses a header claiming more than the maximum before buffering its body', () => {
      const d = new FrameDecoder(1024, viewSink(() => true))
      expect(() => { d.push(encodeHeader(1025)) }).toThrow(expect.objectContaining({ name: 'FrameTooLargeError' }))
      const huge = new FrameDecoder(1024, viewSink(() => true))
      expect(() => { huge.push(encodeHeader(2 ** 50)) }).toThrow(expect.objectContaining({ name: 'FrameTooLargeError' }))
    })

    it('refuses a length prefix of 2^64 (ten bytes) even when split', () => {
      const prefix = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)
      const d = new FrameDecoder(1024, viewSink(() => true))
      expect(() => { d.push(prefix.subarray(0, 3)); d.push(prefix.subarray(3)) }).toThrow(expect.objectContaining({ name: 'FrameTooLargeError' }))
    })

    it('stops after the frame the sink refuses and resumes with the rest, in order', () => {
      const ps = payloads([10, 20, 30, 40, 50])
      const out: number[] = []
      let room = 2
      const d = new FrameDecoder(1024, viewSink(p => { out.push(p[0]); return --room > 0 }))
      const wire = rawFrames(ps)
      d.push(wire.subarray(0, 70))
      d.push(wire.subarray(70))
      expect(out).toEqual([1, 2])
      expect(d.stopped).toBe(true)
      room = 2
      d.resume()
      expect(out).toEqual([1, 2, 3, 4])
      room = 10
      d.resume()
      expect(out).toEqual([1, 2, 3, 4, 5])
      expect(d.bufferedBytes).toBe(0)
    })

    it('passes a frame within one chunk as its bounds in that chunk, and a frame across chunks as one assembled buffer', () => {
      const wire = rawFrames([Uint8Array.of(7, 8, 9), Uint8Array.of(1, 2, 3, 4)])
      // a chunk of its own buffer (a small view into a larger one is decoded from a copy)
      const first = new Uint8Array(wire.subarray(0, 6))
      const calls: Array<{ same: boolean, start: number, end: number, bytes: number[] }> = []
      const d = new FrameDecoder(1024, (chunk, start, end) => {
        calls.push({ same: chunk === first, start, end, bytes: [...chunk.subarray(start, end)] })
        return true
      })
      d.push(first)
      d.push(wire.subarray(6))
      expect(calls).toEqual([
        { same: true, start: 1, end: 4, bytes: [7, 8, 9] },
        { same: false, start: 0, end: 4, bytes: [1, 2, 3, 4] }
      ])
    })

    it('calls onChunkDone after the frames of each chunk, with the chunk\'s size', () => {
      const events: Array<number | string> = []
      const d = new FrameDecoder(1024, viewSink(p => { events.push(`frame ${p.byteLength}`); return true }), n => events.push(n))
      const wire = rawFrames(payloads([3, 4]))
      d.push(wire.subarray(0, 6))
      d.push(wire.subarray(6))
      expect(events).toEqual(['frame 3', 6, 'frame 4', 3])
    })

    describe('a chunk that is a small view into a large buffer (a socket\'s read pool)', () => {
      it('is decoded from a copy: the payloads pin only about the chunk', () => {
        const pool = new ArrayBuffer(1024 * 1024)
        const frame = rawFrames([Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7)])
        new Uint8Array(pool).set(frame, 500_000)
        const chunk = new Uint8Array(pool, 500_000, frame.byteLength)
        const seen: Uint8Array[] = []
        const d = new FrameDecoder(1024, viewSink(p => { seen.push(p); return true }))
        d.push(chunk)
        expect(seen).toHaveLength(1)
        expect([...seen[0]]).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
        expect(seen[0].buffer).not.toBe(pool)
        expect(seen[0].buffer.byteLength).toBeLessThanOrEqual(frame.byteLength)
        // the copy is the decoder's: writing into the pool afterwards changes nothing seen
        new Uint8Array(pool).fill(0xee, 500_000, 500_000 + frame.byteLength)
        expect([...seen[0]]).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
      })

      it('is not copied when it makes up most of its buffer: payloads are views into it', () => {
        const frame = rawFrames([new Uint8Array(3000).fill(4)])
        const buffer = new ArrayBuffer(frame.byteLength + 100)
        new Uint8Array(buffer).set(frame, 50)
        const seen: Uint8Array[] = []
        const d = new FrameDecoder(4096, viewSink(p => { seen.push(p); return true }))
        d.push(new Uint8Array(buffer, 50, frame.byteLength))
        expect(seen[0].buffer).toBe(buffer)
        expect(seen[0].byteLength).toBe(3000)
      })
    })
  })
})
