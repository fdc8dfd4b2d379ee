import { describe, expect, it } from '@jest/globals'
import { Inbox } from '../src/core/inbox.ts'
import type { Clock } from '../src/core/clock.ts'

const LANES = [
  { name: 'control', strict: true, weight: 1, windowMessages: 64 },
  { name: 'consensus', strict: false, weight: 4, windowMessages: 64 },
  { name: 'bulk', strict: false, weight: 1, windowMessages: 64 }
]

/** A clock that counts its reads (timers unused by the inbox). */
function countingClock (): Clock & { reads: number } {
  const clock = {
    reads: 0,
    now: () => { clock.reads++; return 1_000 },
    setTimeout: () => undefined,
    clearTimeout: () => {},
    setInterval: () => undefined,
    clearInterval: () => {}
  }
  return clock
}

function inbox (clock: Clock): Inbox {
  return new Inbox({ capacity: 64, maxBytes: 1 << 20, lanes: LANES, targetMs: 100, minCredit: 32, clock })
}

function fill (box: Inbox, lane: number, n: number): void {
  for (let i = 0; i < n; i++) box.push('a', lane, new Uint8Array([lane, i]), 1_000)
}

describe('Inbox', () => {
  describe('when a consumer takes a batch while a receiver waits for credit', () => {
    it('calls the waiter once, after the batch, with the credit the whole batch freed', () => {
      const clock = countingClock()
      const box = inbox(clock)
      fill(box, 1, 40)
      const credits: number[] = []
      const waiter = { above: 0, callback: () => { credits.push(box.credit(1)) } }
      box.whenCredit(1, waiter)
      const readsBefore = clock.reads
      const taken = box.take(40)
      expect(taken).toHaveLength(40)
      // one check of the credit for the batch (one clock read), and one by the waiter itself
      expect(clock.reads - readsBefore).toBe(2)
      // the lane is empty: its credit is the whole budget
      expect(credits).toEqual([64])
    })

    it('checks each lane it took from, and only those', () => {
      const clock = countingClock()
      const box = inbox(clock)
      fill(box, 0, 3)
      fill(box, 2, 3)
      const called: string[] = []
      for (const lane of [0, 1, 2]) box.whenCredit(lane, { above: 0, callback: () => { called.push(LANES[lane].name) } })
      expect(box.take(10).map(m => m.lane)).toEqual(['control', 'control', 'control', 'bulk', 'bulk', 'bulk'])
      expect(called).toEqual(['control', 'bulk'])
    })

    it('keeps a waiter whose credit has not grown enough registered for the next batch', () => {
      const box = inbox(countingClock())
      fill(box, 1, 64)
      let calls = 0
      box.whenCredit(1, { above: 40, callback: () => { calls++ } })
      box.take(10)
      expect(calls).toBe(0)
      box.take(54)
      expect(calls).toBe(1)
    })
  })

  describe('when a consumer takes one message at a time', () => {
    it('calls a credit waiter as soon as the credit is above its mark', () => {
      const box = inbox(countingClock())
      fill(box, 1, 64)
      let calledAt = -1
      box.whenCredit(1, { above: 2, callback: () => { calledAt = box.laneLength(1) } })
      while (box.shift() !== undefined && calledAt < 0);
      expect(calledAt).toBe(29)
    })
  })

  describe('when producers wait for space', () => {
    it('calls them once the lane has drained to half, after the batch that drained it', () => {
      const box = inbox(countingClock())
      fill(box, 1, 64)
      expect(box.full(1)).toBe(true)
      let lengthWhenCalled = -1
      box.whenSpace(1, () => { lengthWhenCalled = box.laneLength(1) })
      box.take(20)
      expect(lengthWhenCalled).toBe(-1)
      box.take(20)
      expect(lengthWhenCalled).toBe(24)
    })
  })
})
