import { describe, expect, it } from '@jest/globals'
import { LaneAcks } from '../src/core/lane-acks.ts'
import { ReverseDecoder, encodeAnswer } from '../src/core/link-protocol.ts'

/** The acks in `bytes`, decoded as a sender does. */
function decode (bytes: Uint8Array | undefined, lanes = 3): Array<[number, number, number, number]> {
  const out: Array<[number, number, number, number]> = []
  const d = new ReverseDecoder(lanes, { onAnswer: () => {}, onAck: (lane, next, partial, credit) => out.push([lane, next, partial, credit]) })
  d.push(encodeAnswer({ known: false, next: new Array(lanes).fill(0), credit: new Array(lanes).fill(1) }))
  if (bytes !== undefined) d.push(bytes)
  return out
}

describe('LaneAcks: a receiver\'s acks and credit on one stream (pure)', () => {
  it('acks at once past 64 messages, 16 KiB or half the credit, soon otherwise', () => {
    const acks = new LaneAcks(3)
    for (let lane = 0; lane < 3; lane++) acks.start(lane, 0, 100)
    expect(acks.urgency()).toBe('none')
    acks.unackedMessages[1] = 10
    expect(acks.urgency()).toBe('soon')
    acks.unackedMessages[1] = 50
    expect(acks.urgency()).toBe('now')
    acks.unackedMessages[1] = 1
    acks.unackedBytes[2] = 16 * 1024
    expect(acks.urgency()).toBe('now')
  })

  it('writes the lanes that progressed or whose credit is news, and holds the sender to the furthest limit granted', () => {
    const acks = new LaneAcks(3)
    for (let lane = 0; lane < 3; lane++) acks.start(lane, 0, 32)
    expect(acks.limit).toEqual([32, 32, 32])
    // lane 1 took 5; lane 2's credit moved by less than a quarter: not news
    expect(decode(acks.encode([0, 5, 0], [0, 0, 0], [32, 27, 30], false))).toEqual([[1, 5, 0, 27]])
    expect(acks.unackedMessages).toEqual([0, 0, 0])
    // lane 0's credit fell to none: news, and held
    expect(decode(acks.encode([0, 5, 0], [0, 0, 0], [0, 27, 30], false))).toEqual([[0, 0, 0, 0]])
    expect(acks.heldCount).toBe(1)
    // a shrinking credit does not take back the limit granted
    expect(acks.limit[0]).toBe(32)
    expect(acks.pastCredit(0, 31)).toBe(false)
    expect(acks.pastCredit(0, 32)).toBe(true)
    // nothing new: nothing to write; with `all`, every lane
    expect(acks.encode([0, 5, 0], [0, 0, 0], [0, 27, 30], false)).toBeUndefined()
    expect(decode(acks.encode([0, 5, 0], [0, 0, 0], [0, 27, 30], true))).toEqual([[0, 0, 0, 0], [1, 5, 0, 27], [2, 0, 0, 30]])
    // credit again: no longer held
    acks.encode([0, 5, 0], [0, 0, 0], [8, 27, 30], false)
    expect(acks.heldCount).toBe(0)
    expect(acks.limit[0]).toBe(32)
  })
})
