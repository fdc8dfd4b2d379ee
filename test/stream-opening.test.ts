import { describe, expect, it } from '@jest/globals'
import { MalformedFrameError } from '../src/core/errors.ts'
import { ReceiveCounters } from '../src/core/peer-stats.ts'
import { acceptHello, acceptResume } from '../src/core/stream-opening.ts'

/** Books of a sender with incarnation `aa`, of which lane 0 took messages 0..9 and lane 1 messages 0..4. */
function booksOfKnownSender (): ReceiveCounters {
  const counters = new ReceiveCounters(2)
  counters.incarnation = 'aa'
  counters.next[0] = 10
  counters.next[1] = 5
  return counters
}

describe('the receiving side of a stream opening', () => {
  it('keeps what it took from a sender it knows, and answers known', () => {
    const counters = booksOfKnownSender()
    expect(acceptHello(counters, { incarnation: 'aa', retained: [7, 5] })).toBe(true)
    expect(counters.next).toEqual([10, 5])
  })

  it('starts each lane of a sender new to it (or restarted) where its hello says', () => {
    const counters = booksOfKnownSender()
    expect(acceptHello(counters, { incarnation: 'bb', retained: [3, 0] })).toBe(false)
    expect(counters.next).toEqual([3, 0])
    expect(counters.incarnation).toBe('bb')
  })

  it('refuses a hello with another number of lanes, changing nothing', () => {
    const counters = booksOfKnownSender()
    expect(() => acceptHello(counters, { incarnation: 'bb', retained: [0, 0, 0] })).toThrow(MalformedFrameError)
    expect([counters.incarnation, counters.next]).toEqual(['aa', [10, 5]])
  })

  it('resumes each lane where the sender says, counting what it still held that had arrived as duplicates', () => {
    const counters = booksOfKnownSender()
    const hello = { incarnation: 'aa', retained: [7, 5] }
    const known = acceptHello(counters, hello)
    // lane 0: the sender held 7..9, which arrived (3 duplicates, not sent again); lane 1: it dropped 5..7 meanwhile
    acceptResume(counters, hello, known, [10, 8])
    expect(counters.next).toEqual([10, 8])
    expect(counters.duplicates).toEqual([3, 0])
  })

  it('counts no duplicates for a sender it did not know', () => {
    const counters = booksOfKnownSender()
    const hello = { incarnation: 'bb', retained: [3, 0] }
    acceptResume(counters, hello, acceptHello(counters, hello), [3, 0])
    expect(counters.duplicates).toEqual([0, 0])
  })

  it('refuses a lane resuming below what it took, changing nothing', () => {
    const counters = booksOfKnownSender()
    const hello = { incarnation: 'aa', retained: [7, 5] }
    const known = acceptHello(counters, hello)
    expect(() => { acceptResume(counters, hello, known, [10, 4]) }).toThrow(/lane 1 resumes at 4, below 5/)
    expect([counters.next, counters.duplicates]).toEqual([[10, 5], [0, 0]])
  })
})
