import { afterEach, describe, expect, it } from '@jest/globals'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { noiseFrameLength } from '../src/transports/libp2p/noise-frame-length.ts'
import { Libp2pHarness, connectAll } from './helpers/harness.ts'
import { numbered, receive } from './helpers/wait.ts'

/** Frames of Noise's shape: a 2-byte big-endian length, then the bytes. */
function frame (bytes: number[]): number[] {
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes]
}

describe('noiseFrameLength', () => {
  it('reads the 2-byte big-endian length, from one array or across the chunks of a list', () => {
    expect(noiseFrameLength(Uint8Array.of(0x01, 0x02, 0xff))).toBe(0x0102)
    expect(noiseFrameLength(new Uint8ArrayList(Uint8Array.of(0xab), Uint8Array.of(0xcd)))).toBe(0xabcd)
  })

  it('splits frames in libp2p\'s decoder exactly as Noise\'s decoder does, whatever the reads', () => {
    const frames = [[1, 2, 3], [], [4], Array.from({ length: 300 }, (_, i) => i & 0xff), [5, 6]]
    const wire = Uint8Array.from(frames.flatMap(frame))
    for (const cut of [1, 2, 3, 7, wire.length]) {
      const decoder = new LengthPrefixedDecoder({ lengthDecoder: noiseFrameLength, encodingLength: () => 2 })
      const got: number[][] = []
      for (let i = 0; i < wire.length; i += cut) {
        for (const buf of decoder.decode(wire.subarray(i, i + cut))) got.push([...buf.subarray()])
      }
      // libp2p's decoder skips empty frames; Noise sends none
      expect(got).toEqual(frames.filter(f => f.length > 0))
    }
  })
})

describe('Noise connections of the libp2p transport', () => {
  const harness = new Libp2pHarness()
  const realRangeError = globalThis.RangeError
  afterEach(async () => {
    globalThis.RangeError = realRangeError
    await harness.cleanup()
  })

  it('read frames without throwing an exception per read', async () => {
    const a = await harness.createNode('a')
    const b = await harness.createNode('b')
    await connectAll(a, b)
    let thrown = 0
    globalThis.RangeError = new Proxy(realRangeError, {
      apply: (target, self, args: [string?]) => { thrown++; return Reflect.apply(target, self, args) },
      construct: (target, args: [string?]) => { thrown++; return Reflect.construct(target, args) }
    })
    // one message at a time: each arrives in reads of its own (message, then ack)
    for (let i = 0; i < 50; i++) {
      a.module.sendTo('b', numbered('a', i))
      await receive(b.module, 1)
    }
    globalThis.RangeError = realRangeError
    expect(thrown).toBe(0)
  })
})
