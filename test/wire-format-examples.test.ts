import { describe, expect, it } from '@jest/globals'
import { FramePlan } from '../src/core/frame-codec.ts'
import { encodeAnswer, encodeHelloFrame, encodeResumeFrame, frameTag, writeAck, FIRST_CHUNK, LAST_CHUNK, MIDDLE_CHUNK, WHOLE } from '../src/core/link-protocol.ts'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1 ')

/** The examples of docs/wire-format.md, byte for byte. */
describe('docs/wire-format.md examples', () => {
  const incarnation = new Uint8Array(8).fill(0xaa)

  it('hello frames', () => {
    expect(hex(encodeHelloFrame(incarnation, [0, 0, 0]))).toBe(`0d 03 ${'aa '.repeat(8)}03 00 00 00`)
    expect(hex(encodeHelloFrame(incarnation, [0, 1, 0]))).toBe(`0d 03 ${'aa '.repeat(8)}03 00 01 00`)
  })

  it('resume frames', () => {
    expect(hex(encodeResumeFrame([0, 0, 0]))).toBe('04 20 00 00 00')
    expect(hex(encodeResumeFrame([0, 3, 0]))).toBe('04 20 00 03 00')
  })

  it('message frames, whole and chunked', () => {
    const plan = new FramePlan()
    plan.add(frameTag(1, WHOLE), new TextEncoder().encode('hi'), 0, 2, -1)
    plan.add(frameTag(0, WHOLE), new Uint8Array(0), 0, 0, -1)
    expect(hex(plan.encode(4096).subarray())).toBe('03 01 68 69 01 00')
    const big = new Uint8Array(40_000)
    plan.add(frameTag(2, FIRST_CHUNK), big, 0, 16_384, 40_000)
    plan.add(frameTag(2, MIDDLE_CHUNK), big, 16_384, 32_768, -1)
    plan.add(frameTag(2, LAST_CHUNK), big, 32_768, 40_000, -1)
    const bytes = plan.encode(4096).subarray()
    expect(hex(bytes.subarray(0, 7))).toBe('84 80 01 0a c0 b8 02')
    expect(hex(bytes.subarray(7 + 16_384, 7 + 16_384 + 4))).toBe('81 80 01 12')
    expect(hex(bytes.subarray(7 + 16_384 + 4 + 16_384, 7 + 16_384 + 4 + 16_384 + 3))).toBe('c1 38 1a')
    expect(bytes.byteLength).toBe(7 + 16_384 + 4 + 16_384 + 3 + 7_232)
  })

  it('answers and acks', () => {
    expect(hex(encodeAnswer({ known: false, next: [0, 0, 0], credit: [32, 32, 32] }))).toBe('00 03 00 20 00 20 00 20')
    expect(hex(encodeAnswer({ known: true, next: [0, 3, 0], credit: [32, 32, 32] }))).toBe('01 03 00 20 03 20 00 20')
    const out = new Uint8Array(4)
    expect(writeAck(out, 0, 1, 1, 0, 32)).toBe(4)
    expect(hex(out)).toBe('02 01 00 20')
    expect(writeAck(out, 0, 1, 5, 0, 0)).toBe(4)
    expect(hex(out)).toBe('03 05 00 00')
  })
})
