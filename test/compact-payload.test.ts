import { describe, expect, it } from '@jest/globals'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { SendRequestSchema } from '../gen/ts/mirnet/v1/transport_pb.ts'
import { compactPayload, PAYLOAD_SLACK_BYTES, SLAB_COPY_MAX_BYTES } from '../src/service/compact-payload.ts'

describe('compactPayload', () => {
  /** A SendRequest decoded from one buffer, as the API server decodes requests. */
  function decoded (...sizes: number[]): { buffer: ArrayBufferLike, payloads: Uint8Array[] } {
    const bytes = toBinary(SendRequestSchema, create(SendRequestSchema, {
      messages: sizes.map((n, i) => ({ destinations: ['a'], payload: new Uint8Array(n).fill(i + 1) }))
    }))
    const req = fromBinary(SendRequestSchema, bytes)
    return { buffer: bytes.buffer, payloads: req.messages.map(m => m.payload) }
  }

  it('copies a small payload out of a large request, which it then no longer shares', () => {
    const { buffer, payloads: [small] } = decoded(100, 4 * 1024 * 1024)
    // protobuf-es decodes bytes as a view into the request
    expect(small.buffer).toBe(buffer)
    const compacted = compactPayload(small)
    expect(compacted.buffer).not.toBe(buffer)
    expect(compacted.buffer.byteLength).toBeLessThanOrEqual(2 * 100 + PAYLOAD_SLACK_BYTES)
    expect(compacted).toEqual(small)
  })

  it('copies out of a Node Buffer too, whose slice() is a view', () => {
    const bytes = toBinary(SendRequestSchema, create(SendRequestSchema, {
      messages: [{ destinations: ['a'], payload: new Uint8Array(10).fill(1) }, { destinations: ['a'], payload: new Uint8Array(1024 * 1024) }]
    }))
    const body = Buffer.concat([Buffer.alloc(5), bytes]).subarray(5)
    const small = fromBinary(SendRequestSchema, body).messages[0].payload
    expect(small.buffer).toBe(body.buffer)
    const compacted = compactPayload(small)
    expect(compacted.buffer).not.toBe(body.buffer)
    expect(compacted.buffer.byteLength).toBeLessThanOrEqual(2 * 10 + PAYLOAD_SLACK_BYTES)
    expect([...compacted]).toEqual(new Array(10).fill(1))
  })

  it('leaves a payload that is most of its buffer as a view', () => {
    const { buffer, payloads: [, large] } = decoded(100, 4 * 1024 * 1024)
    expect(compactPayload(large)).toBe(large)
    expect(large.buffer).toBe(buffer)
  })

  it('leaves small requests alone: within twice the payload plus the slack', () => {
    const { payloads } = decoded(10, 20, 30)
    for (const p of payloads) expect(compactPayload(p)).toBe(p)
    const edge = new Uint8Array(new ArrayBuffer(2 * 1000 + PAYLOAD_SLACK_BYTES), 0, 1000)
    expect(compactPayload(edge)).toBe(edge)
    const over = new Uint8Array(new ArrayBuffer(2 * 1000 + PAYLOAD_SLACK_BYTES + 1), 0, 1000)
    expect(compactPayload(over)).not.toBe(over)
  })

  describe('when a request holds many small payloads', () => {
    it('copies them into shared slabs no larger than the slack, each copy its own bytes', () => {
      const sizes = new Array(64).fill(256)
      const { buffer, payloads } = decoded(...sizes, 64 * 1024)
      const copies = payloads.slice(0, 64).map(compactPayload)
      const slabs = new Set(copies.map(c => c.buffer))
      // 256 B copies, 16 to a 4 KiB slab (one more when the first slab was partly used)
      expect(slabs.size).toBeLessThanOrEqual(64 * 256 / PAYLOAD_SLACK_BYTES + 1)
      for (const s of slabs) {
        expect(s).not.toBe(buffer)
        expect(s.byteLength).toBe(PAYLOAD_SLACK_BYTES)
      }
      copies.forEach((c, i) => { expect(c).toEqual(payloads[i]) })
      // no two copies overlap: changing one leaves the others as they were
      copies[0].fill(0)
      copies.slice(1).forEach((c, i) => { expect(c).toEqual(payloads[i + 1]) })
    })

    it('gives a payload above the slab limit a buffer of its own', () => {
      const { payloads: [mid] } = decoded(SLAB_COPY_MAX_BYTES + 1, 4 * 1024 * 1024)
      const compacted = compactPayload(mid)
      expect(compacted.buffer.byteLength).toBe(SLAB_COPY_MAX_BYTES + 1)
      expect(compacted).toEqual(mid)
    })
  })
})
