import { describe, expect, it } from '@jest/globals'
import { MessageAssembler } from '../src/core/message-assembler.ts'

describe('MessageAssembler', () => {
  it('reassembles chunks bit for bit, growing with what arrives', () => {
    const message = new Uint8Array(300_000).map((_, i) => (i * 7) % 256)
    const a = new MessageAssembler(1024 * 1024)
    a.start(message.byteLength, message.subarray(0, 16_384))
    let out: Uint8Array | undefined
    for (let at = 16_384; at < message.byteLength; at += 16_384) {
      const end = Math.min(message.byteLength, at + 16_384)
      out = a.append(message.subarray(at, end), end === message.byteLength)
      if (end < message.byteLength) expect(out).toBeUndefined()
    }
    expect(out?.byteLength).toBe(message.byteLength)
    expect(Buffer.compare(out as Uint8Array, message)).toBe(0)
    expect(a.active).toBe(false)
  })

  it('checks the announced size before keeping anything, and allocates only what arrived', () => {
    const a = new MessageAssembler(1024)
    expect(() => { a.start(1025, new Uint8Array(10)) }).toThrow(expect.objectContaining({ name: 'FrameTooLargeError' }))
    expect(a.active).toBe(false)
    const big = new MessageAssembler(16 * 1024 * 1024)
    big.start(16 * 1024 * 1024, new Uint8Array(10))
    // a peer announcing 16 MiB and sending 10 bytes holds 64 KiB, not 16 MiB
    expect(big.filled).toBe(10)
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(512 * 1024 * 1024)
  })

  it('refuses chunks that do not add up', () => {
    const a = new MessageAssembler(1024)
    expect(() => a.append(new Uint8Array(1), true)).toThrow(/continues no message/)
    a.start(100, new Uint8Array(40))
    expect(() => { a.start(100, new Uint8Array(40)) }).toThrow(/before finishing/)
    expect(() => a.append(new Uint8Array(70), false)).toThrow(/110 bytes for a message of 100/)
    const b = new MessageAssembler(1024)
    b.start(100, new Uint8Array(40))
    expect(() => b.append(new Uint8Array(50), true)).toThrow(/90 bytes for a message of 100/)
    const c = new MessageAssembler(1024)
    c.start(100, new Uint8Array(40))
    expect(() => c.append(new Uint8Array(60), false)).toThrow(/100 bytes for a message of 100/)
    expect(() => { new MessageAssembler(1024).start(10, new Uint8Array(10)) }).toThrow(/first chunk of 10 bytes/)
  })
})
