import { describe, expect, it } from '@jest/globals'
import { Uint8ArrayList } from 'uint8arraylist'
import {
  FIRST_CHUNK, INCARNATION_BYTES, LAST_CHUNK, LINK_PROTOCOL_VERSION, MIDDLE_CHUNK, ReverseDecoder, VarintDecoder, WHOLE,
  MAX_SEQUENCE, RESUME_TAG, ackLength, decodeHello, decodeResume, encodeAnswer, encodeHello, encodeHelloFrame, encodeResumeFrame,
  encodeStreamOpening, encodeVarints, frameTag, newIncarnation, writeAck
} from '../src/core/link-protocol.ts'
import type { Answer } from '../src/core/link-protocol.ts'

const named = (name: string): unknown => expect.objectContaining({ name })

/** A version 1 hello as a v1 sender wrote it: version byte 1, incarnation, varint first sequence. */
function helloV1 (incarnation: Uint8Array, firstSequence: number): Uint8Array {
  return Uint8Array.of(1, ...incarnation, ...encodeVarints([firstSequence]))
}

/** An ack as the receiver writes it. */
function ack (lane: number, next: number, partialBytes: number, credit: number): Uint8Array {
  const out = new Uint8Array(ackLength(lane, next, partialBytes, credit))
  expect(writeAck(out, 0, lane, next, partialBytes, credit)).toBe(out.byteLength)
  return out
}

describe('link protocol', () => {
  describe('the hello', () => {
    it('round-trips with the oldest retained sequence number of each lane', () => {
      const incarnation = newIncarnation()
      expect(incarnation.byteLength).toBe(INCARNATION_BYTES)
      const retained = [0, 300, 2 ** 40 + 5]
      const payload = encodeHello(incarnation, retained)
      expect(payload[0]).toBe(LINK_PROTOCOL_VERSION)
      expect(LINK_PROTOCOL_VERSION).toBe(3)
      expect(payload[1 + INCARNATION_BYTES]).toBe(3)
      expect(decodeHello(payload, 3)).toEqual({ incarnation: Buffer.from(incarnation).toString('hex'), retained })
      // a node with more lanes accepts a hello naming fewer (the receiver compares the count itself)
      expect(decodeHello(encodeHello(incarnation, [7]), 8).retained).toEqual([7])
    })

    it('draws the incarnation from a given random source, the same for the same numbers', () => {
      const numbers = (): () => number => { let x = 0; return () => (x = (x * 7 + 3) % 11) / 11 }
      const a = newIncarnation(numbers())
      expect(a.byteLength).toBe(INCARNATION_BYTES)
      expect([...a]).toEqual([...newIncarnation(numbers())])
      expect([...a]).not.toEqual(new Array(INCARNATION_BYTES).fill(a[0]))
    })

    it('is the first frame: a varint length and the payload', () => {
      const incarnation = newIncarnation()
      const frame = encodeHelloFrame(incarnation, [0, 0, 0])
      const payload = encodeHello(incarnation, [0, 0, 0])
      expect(frame[0]).toBe(payload.byteLength)
      expect(frame.byteLength).toBe(payload.byteLength + 1)
      expect([...frame.subarray(1)]).toEqual([...payload])
      // the largest hello (8 lanes, 7-byte varints) still has a one-byte length
      const largest = encodeHelloFrame(incarnation, new Array<number>(8).fill(MAX_SEQUENCE))
      expect(largest[0]).toBe(largest.byteLength - 1)
      expect(decodeHello(largest.subarray(1), 8).retained).toEqual(new Array<number>(8).fill(MAX_SEQUENCE))
      // past 2^48 a sequence number could not be counted on and encoded exactly: refused
      expect(() => decodeHello(encodeHello(incarnation, [0, MAX_SEQUENCE + 1, 0]), 3)).toThrow(named('MalformedFrameError'))
      expect(() => decodeHello(encodeHello(incarnation, [0, 0, 2 ** 53 - 1]), 3)).toThrow(named('MalformedFrameError'))
    })

    it('is followed by the resume frame: where each lane starts', () => {
      const frame = encodeResumeFrame([0, 300, MAX_SEQUENCE])
      expect(frame[0]).toBe(frame.byteLength - 1)
      expect(frame[1]).toBe(RESUME_TAG)
      expect(decodeResume(frame.subarray(1), 3)).toEqual([0, 300, MAX_SEQUENCE])
      expect(() => decodeResume(frame.subarray(1), 2)).toThrow(/trailing bytes/)
      expect(() => decodeResume(frame.subarray(1), 4)).toThrow(named('MalformedFrameError'))
      expect(() => decodeResume(Uint8Array.of(0x21, 0, 0, 0), 3)).toThrow(/not a resume frame/)
      expect(() => decodeResume(encodeResumeFrame([0, MAX_SEQUENCE + 1, 0]).subarray(1), 3)).toThrow(/above/)
      const opening = encodeStreamOpening(newIncarnation(), [1, 2, 3])
      expect([...opening.subarray(opening[0] + 1)]).toEqual([...encodeResumeFrame([1, 2, 3])])
    })

    it('refuses a version 1 or 2 hello with ProtocolVersionError, and other versions too', () => {
      const incarnation = newIncarnation()
      expect(() => decodeHello(helloV1(incarnation, 0), 3)).toThrow(named('ProtocolVersionError'))
      expect(() => decodeHello(helloV1(incarnation, 300), 3)).toThrow(named('ProtocolVersionError'))
      for (const version of [2, 4]) {
        const other = encodeHello(incarnation, [0, 0, 0])
        other[0] = version
        expect(() => decodeHello(other, 3)).toThrow(named('ProtocolVersionError'))
      }
      expect(() => decodeHello(Uint8Array.of(2, ...encodeHello(incarnation, [0, 0, 0]).subarray(1)), 3)).toThrow(/version 2 of the mirnet link protocol, this node version 3/)
    })

    it('refuses anything else as MalformedFrameError', () => {
      const incarnation = newIncarnation()
      const good = encodeHello(incarnation, [1, 2, 3])
      const cases: Array<[string, Uint8Array]> = [
        ['empty', new Uint8Array(0)],
        ['text', Uint8Array.of(0x68, 0x69)],
        ['version 0', Uint8Array.of(0, ...good.subarray(1))],
        ['a message frame tag (0x40)', Uint8Array.of(0x40, ...good.subarray(1))],
        ['version only', Uint8Array.of(3)],
        ['no lane count', good.subarray(0, 1 + INCARNATION_BYTES)],
        ['zero lanes', encodeHello(incarnation, [])],
        ['more lanes than the node has', encodeHello(incarnation, [0, 0, 0, 0])],
        ['a lane\'s varint cut off', Uint8Array.of(...encodeHello(incarnation, [0, 0]), 0x80)],
        ['fewer varints than lanes', (() => { const h = encodeHello(incarnation, [0, 0]); h[1 + INCARNATION_BYTES] = 3; return h })()],
        ['trailing bytes', Uint8Array.of(...good, 0)],
        ['a varint past 2^53', Uint8Array.of(3, ...incarnation, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)]
      ]
      for (const [what, payload] of cases) {
        let err: unknown
        try { decodeHello(payload, 3) } catch (e) { err = e }
        expect({ what, name: (err as Error | undefined)?.name }).toEqual({ what, name: 'MalformedFrameError' })
      }
    })
  })

  describe('message frame tags', () => {
    it('put the lane in bits 0-2 and the kind in bits 3-4', () => {
      expect([WHOLE, FIRST_CHUNK, MIDDLE_CHUNK, LAST_CHUNK]).toEqual([0, 1, 2, 3])
      expect(frameTag(0, WHOLE)).toBe(0)
      expect(frameTag(2, WHOLE)).toBe(2)
      expect(frameTag(1, FIRST_CHUNK)).toBe(0x09)
      expect(frameTag(7, LAST_CHUNK)).toBe(0x1f)
      for (let lane = 0; lane < 8; lane++) {
        for (let kind = 0; kind < 4; kind++) expect([frameTag(lane, kind) & 7, frameTag(lane, kind) >> 3]).toEqual([lane, kind])
      }
    })
  })

  describe('the reverse direction', () => {
    it('encodes the answer as known, lane count, next and credit per lane', () => {
      expect([...encodeAnswer({ known: false, next: [0, 0, 0], credit: [32, 32, 32] })]).toEqual([0, 3, 0, 32, 0, 32, 0, 32])
      expect([...encodeAnswer({ known: true, next: [5, 300, 0], credit: [0, 4096, 1] })]).toEqual([1, 3, 5, 0, ...encodeVarints([300]), ...encodeVarints([4096]), 0, 1])
    })

    it('encodes an ack as tag (2 × lane + held), next, partial, credit; held exactly when the credit is 0', () => {
      expect([...ack(2, 7, 0, 5)]).toEqual([4, 7, 0, 5])
      expect([...ack(2, 7, 0, 0)]).toEqual([5, 7, 0, 0])
      const d = new ReverseDecoder(3, { onAnswer: () => {}, onAck: () => {} })
      d.push(encodeAnswer({ known: false, next: [0, 0, 0], credit: [1, 1, 1] }))
      // held with credit, or not held without: malformed
      expect(() => { d.push(Uint8Array.of(5, 7, 0, 3)) }).toThrow(expect.objectContaining({ name: 'MalformedFrameError' }))
      const d2 = new ReverseDecoder(3, { onAnswer: () => {}, onAck: () => {} })
      d2.push(encodeAnswer({ known: false, next: [0, 0, 0], credit: [1, 1, 1] }))
      expect(() => { d2.push(Uint8Array.of(4, 7, 0, 0)) }).toThrow(expect.objectContaining({ name: 'MalformedFrameError' }))
    })

    it('decodes the answer and acks split anywhere across chunks', () => {
      const answer: Answer = { known: true, next: [5, 2 ** 32, 0], credit: [32, 4096, 0] }
      const acks: Array<[number, number, number, number, boolean]> = [[0, 6, 0, 10, false], [2, 1, 16_384, 0, true], [1, 2 ** 32 + 1, 127, 300, false], [2, 2, 0, 1, false]]
      const bytes = Buffer.concat([encodeAnswer(answer), ...acks.map(([lane, next, partial, credit]) => ack(lane, next, partial, credit))])
      for (let cut = 0; cut <= bytes.byteLength; cut++) {
        for (let cut2 = cut; cut2 <= bytes.byteLength; cut2 += 3) {
          const seen: unknown[] = []
          const d = new ReverseDecoder(3, {
            onAnswer: a => seen.push(['answer', a]),
            onAck: (lane, next, partialBytes, credit, held) => seen.push([lane, next, partialBytes, credit, held])
          })
          d.push(bytes.subarray(0, cut))
          d.push(new Uint8ArrayList(bytes.subarray(cut, cut2)))
          d.push(bytes.subarray(cut2))
          expect(seen).toEqual([['answer', answer], ...acks])
        }
      }
    })

    it('refuses an answer or an ack that does not fit the stream', () => {
      const decoder = (): ReverseDecoder => new ReverseDecoder(3, { onAnswer: () => {}, onAck: () => {} })
      // known must be 0 or 1
      expect(() => { decoder().push(Uint8Array.of(2)) }).toThrow(named('MalformedFrameError'))
      // the answer names another lane count than the hello
      expect(() => { decoder().push(Uint8Array.of(1, 2, 0, 0)) }).toThrow(named('MalformedFrameError'))
      // an ack of lane 3 on a stream of 3 lanes (tag 2 × 3)
      expect(() => { decoder().push(Uint8Array.of(0, 3, 0, 1, 0, 1, 0, 1, 6, 0, 0, 1)) }).toThrow(named('MalformedFrameError'))
      // a varint longer than 8 bytes
      expect(() => { decoder().push(new Uint8Array(9).fill(0x80)) }).toThrow(named('MalformedFrameError'))
    })

    it('reads varints of up to 8 bytes one byte at a time', () => {
      const values = [0, 1, 127, 128, 300, 2 ** 32, 2 ** 53 - 1]
      const bytes = encodeVarints(values)
      const seen: number[] = []
      const d = new VarintDecoder(v => seen.push(v))
      for (const b of bytes) d.push(Uint8Array.of(b))
      expect(seen).toEqual(values)
    })
  })
})
