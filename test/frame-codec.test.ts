import { describe, expect, it } from '@jest/globals'
import { Uint8ArrayList } from 'uint8arraylist'
import { encodeFrameList, encodeHeader, FrameDecoder } from '../src/core/frame-codec.ts'

function payloads (sizes: number[]): Uint8Array[] {
  return sizes.map((n, i) => new Uint8Array(n).fill(i + 1))
}

/** Small payloads copied, large ones (>= 200 bytes here) referenced: both paths in one batch. */
function encode (ps: Uint8Array[]): Uint8Array {
  return encodeFrameList(ps, ps.length, 200).subarray()
}

function decodeAll (chunks: Array<Uint8Array | Uint8ArrayList>, max = 1 << 20): Uint8Array[] {
  const out: Uint8Array[] = []
  const d = new FrameDecoder(max, p => { out.push(p.slice()); return true })
  for (const c of chunks) d.push(c)
  expect(d.bufferedBytes).toBe(0)
  return out
}

describe('frame codec', () => {
  const sample = payloads([0, 1, 127, 128, 300, 16_384, 70_000])

  it('round-trips frames of every size class in one chunk', () => {
    expect(decodeAll([encode(sample)])).toEqual(sample)
  })

  it('round-trips when the stream is split at every byte position', () => {
    const small = payloads([0, 5, 130, 2])
    const wire = encode(small)
    for (let cut = 0; cut <= wire.byteLength; cut++) {
      expect(decodeAll([wire.subarray(0, cut), wire.subarray(cut)])).toEqual(small)
    }
  })

  it('round-trips one byte at a time and through Uint8ArrayLists', () => {
    const wire = encode(sample)
    const bytes = Array.from(wire, b => Uint8Array.of(b))
    expect(decodeAll(bytes)).toEqual(sample)
    const list = new Uint8ArrayList(wire.subarray(0, 1000), wire.subarray(1000, 1001), wire.subarray(1001))
    expect(decodeAll([list])).toEqual(sample)
  })

  it('refuses a header claiming more than the maximum before buffering its body', () => {
    const d = new FrameDecoder(1024, () => true)
    expect(() => { d.push(encodeHeader(1025)) }).toThrow(expect.objectContaining({ name: 'FrameTooLargeError' }))
    const huge = new FrameDecoder(1024, () => true)
    expect(() => { huge.push(encodeHeader(2 ** 50)) }).toThrow(expect.objectContaining({ name: 'FrameTooLargeError' }))
  })

  it('refuses a length prefix of 2^64 (ten bytes) even when split', () => {
    const prefix = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)
    const d = new FrameDecoder(1024, () => true)
    expect(() => { d.push(prefix.subarray(0, 3)); d.push(prefix.subarray(3)) }).toThrow(expect.objectContaining({ name: 'FrameTooLargeError' }))
  })

  it('stops after the frame the sink refuses and resumes with the rest, in order', () => {
    const ps = payloads([10, 20, 30, 40, 50])
    const out: number[] = []
    let room = 2
    const d = new FrameDecoder(1024, p => { out.push(p[0]); return --room > 0 })
    const wire = encode(ps)
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
})
