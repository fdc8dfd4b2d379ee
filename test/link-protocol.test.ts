import { describe, expect, it } from '@jest/globals'
import { Uint8ArrayList } from 'uint8arraylist'
import { DeliveryLedger } from '../src/core/delivery-ledger.ts'
import { AckDecoder, decodeHello, encodeAck, encodeHello, encodeHelloFrame, encodeResume, newIncarnation } from '../src/core/link-protocol.ts'

describe('link protocol', () => {
  it('round-trips a hello and refuses anything else as one', () => {
    const incarnation = newIncarnation()
    const hello = decodeHello(encodeHello(incarnation, 300))
    const frame = encodeHelloFrame(incarnation, 300)
    expect([...frame.subarray(1)]).toEqual([...encodeHello(incarnation, 300)])
    expect(frame[0]).toBe(frame.byteLength - 1)
    expect(hello).toEqual({ incarnation: Buffer.from(incarnation).toString('hex'), firstSequence: 300 })
    expect(() => decodeHello(Uint8Array.of(0x68, 0x69))).toThrow(expect.objectContaining({ name: 'MalformedFrameError' }))
    const wrongVersion = encodeHello(incarnation, 1)
    wrongVersion[0] = 2
    expect(() => decodeHello(wrongVersion)).toThrow(expect.objectContaining({ name: 'MalformedFrameError' }))
    expect(() => decodeHello(Uint8Array.of(...encodeHello(incarnation, 1), 0))).toThrow(expect.objectContaining({ name: 'MalformedFrameError' }))
  })

  it('decodes acks split anywhere across chunks', () => {
    const values = [0, 1, 127, 128, 300, 2 ** 32, 2 ** 40 + 5]
    const bytes = Buffer.concat(values.map(v => encodeAck(v)))
    for (let cut = 0; cut <= bytes.byteLength; cut++) {
      const seen: number[] = []
      const d = new AckDecoder(v => seen.push(v))
      d.push(bytes.subarray(0, cut))
      d.push(new Uint8ArrayList(bytes.subarray(cut)))
      expect(seen).toEqual(values)
    }
    expect(() => { new AckDecoder(() => {}).push(new Uint8Array(9).fill(0x80)) }).toThrow(expect.objectContaining({ name: 'MalformedFrameError' }))
  })

  it('encodes the resume answer with 0 for an unknown incarnation', () => {
    expect([...encodeResume(undefined)]).toEqual([0])
    expect([...encodeResume(0)]).toEqual([1])
    expect([...encodeResume(200)]).toEqual([...encodeAck(201)])
  })
})

describe('DeliveryLedger', () => {
  it('settles a broken connection exactly from the next hello\'s answer', () => {
    const l = new DeliveryLedger()
    l.written = 100
    l.ack(40)
    expect(l).toMatchObject({ acknowledged: 40, lost: 0, unconfirmed: 60 })
    // the connection broke; the next one starts at 100 and the receiver had 70
    l.resume(100, 70)
    expect(l).toMatchObject({ acknowledged: 70, lost: 30, unconfirmed: 0 })
    l.written = 150
    l.ack(150)
    expect(l).toMatchObject({ acknowledged: 120, lost: 30, unconfirmed: 0 })
  })

  it('counts everything unconfirmed as lost when the receiver does not know the incarnation', () => {
    const l = new DeliveryLedger()
    l.written = 10
    l.ack(4)
    l.resume(10, undefined)
    expect(l).toMatchObject({ acknowledged: 4, lost: 6, unconfirmed: 0 })
  })

  it('ignores stale and out-of-range answers', () => {
    const l = new DeliveryLedger()
    l.written = 10
    l.ack(8)
    l.ack(5)
    l.ack(50)
    expect(l).toMatchObject({ acknowledged: 10, lost: 0, unconfirmed: 0 })
    l.resume(10, 3)
    expect(l).toMatchObject({ acknowledged: 10, lost: 0 })
    l.written = 20
    l.resume(20, 400)
    expect(l).toMatchObject({ acknowledged: 20, lost: 0, unconfirmed: 0 })
  })
})
