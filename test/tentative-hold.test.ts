import { describe, expect, it } from '@jest/globals'
import { TentativeHold } from '../src/core/tentative-hold.ts'

interface Pushed { from: string, lane: number, payload: Uint8Array }

/** An inbox stand-in that records what is pushed, in order. */
function sink (): { pushed: Pushed[], push: (from: string, lane: number, payload: Uint8Array) => void } {
  const pushed: Pushed[] = []
  return { pushed, push: (from, lane, payload) => { pushed.push({ from, lane, payload }) } }
}

const message = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill)
const firstBytes = (s: { pushed: Pushed[] }): number[] => s.pushed.map(p => p.payload[0])

function errorName (fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return (err as Error).name
  }
  return undefined
}

describe('TentativeHold', () => {
  it('delivers what it holds in order, with each message\'s lane, as the given member\'s', () => {
    const hold = new TentativeHold({ maxMessages: 10, maxBytes: 1000 })
    hold.hold(2, message(3, 1), false)
    hold.hold(0, message(5, 2), false)
    hold.hold(2, message(1, 3), false)
    expect({ messages: hold.heldMessages, bytes: hold.heldBytes }).toEqual({ messages: 3, bytes: 9 })
    const inbox = sink()
    expect(hold.deliverTo(inbox, 'n1')).toBe(3)
    expect(inbox.pushed.map(p => [p.from, p.lane, p.payload[0], p.payload.byteLength])).toEqual([
      ['n1', 2, 1, 3], ['n1', 0, 2, 5], ['n1', 2, 3, 1]
    ])
    expect({ messages: hold.heldMessages, bytes: hold.heldBytes, released: hold.released }).toEqual({ messages: 0, bytes: 0, released: true })
  })

  describe('when past its bound in messages', () => {
    it('keeps the most recent and counts the dropped', () => {
      const hold = new TentativeHold({ maxMessages: 3, maxBytes: 1000 })
      for (let i = 0; i < 8; i++) hold.hold(0, message(1, i), false)
      expect({ held: hold.heldMessages, dropped: hold.droppedMessages }).toEqual({ held: 3, dropped: 5 })
      const inbox = sink()
      hold.deliverTo(inbox, 'n1')
      expect(firstBytes(inbox)).toEqual([5, 6, 7])
    })
  })

  describe('when past its bound in bytes', () => {
    it('drops the oldest until the new message fits', () => {
      const hold = new TentativeHold({ maxMessages: 100, maxBytes: 1000 })
      for (let i = 0; i < 10; i++) hold.hold(1, message(300, i), false)
      expect({ held: hold.heldMessages, bytes: hold.heldBytes, dropped: hold.droppedMessages }).toEqual({ held: 3, bytes: 900, dropped: 7 })
    })
  })

  it('copies a view into a transport chunk and keeps an owned payload as it is', () => {
    const hold = new TentativeHold({ maxMessages: 10, maxBytes: 1000 })
    const chunk = Uint8Array.of(9, 8, 7, 6)
    const view = chunk.subarray(1, 3)
    const owned = Uint8Array.of(5)
    hold.hold(0, view, true)
    hold.hold(0, owned, false)
    chunk.fill(0)
    const inbox = sink()
    hold.deliverTo(inbox, 'n1')
    expect([...inbox.pushed[0].payload]).toEqual([8, 7])
    expect(inbox.pushed[0].payload.buffer).not.toBe(chunk.buffer)
    expect(inbox.pushed[1].payload).toBe(owned)
  })

  describe('when a newer stream of the same peer takes over', () => {
    it('moves the older hold\'s messages after the newer\'s, within the newer\'s bounds, and releases the older', () => {
      const older = new TentativeHold({ maxMessages: 3, maxBytes: 1000 })
      for (let i = 0; i < 4; i++) older.hold(0, message(1, i), false)
      const newer = new TentativeHold({ maxMessages: 3, maxBytes: 1000 })
      newer.hold(0, message(1, 10), false)
      older.handOver(newer)
      expect({ released: older.released, held: older.heldMessages, droppedBefore: older.droppedMessages }).toEqual({ released: true, held: 0, droppedBefore: 1 })
      // 1 + 3 messages into a bound of 3: the newer's own, the oldest, goes
      expect({ held: newer.heldMessages, dropped: newer.droppedMessages }).toEqual({ held: 3, dropped: 1 })
      const inbox = sink()
      newer.deliverTo(inbox, 'n1')
      expect(firstBytes(inbox)).toEqual([1, 2, 3])
    })
  })

  describe('once released', () => {
    it('takes nothing more and cannot deliver or hand over again: TentativeHoldReleasedError', () => {
      const hold = new TentativeHold({ maxMessages: 10, maxBytes: 1000 })
      hold.hold(0, message(1, 1), false)
      const inbox = sink()
      hold.deliverTo(inbox, 'n1')
      const other = new TentativeHold({ maxMessages: 10, maxBytes: 1000 })
      expect([
        errorName(() => { hold.hold(0, message(1, 2), false) }),
        errorName(() => hold.deliverTo(inbox, 'n1')),
        errorName(() => { hold.handOver(other) }),
        errorName(() => { other.handOver(hold) })
      ]).toEqual(Array(4).fill('TentativeHoldReleasedError'))
      expect(inbox.pushed).toHaveLength(1)
      expect(other.released).toBe(false)
    })

    it('discards once: the first discard lets go of what is held, later ones of nothing', () => {
      const hold = new TentativeHold({ maxMessages: 10, maxBytes: 1000 })
      hold.hold(0, message(4, 1), false)
      hold.hold(1, message(4, 2), false)
      expect(hold.discard()).toBe(2)
      expect({ held: hold.heldMessages, bytes: hold.heldBytes, released: hold.released }).toEqual({ held: 0, bytes: 0, released: true })
      expect(hold.discard()).toBe(0)
      expect(errorName(() => hold.deliverTo(sink(), 'n1'))).toBe('TentativeHoldReleasedError')
    })

    it('discards nothing after delivering', () => {
      const hold = new TentativeHold({ maxMessages: 10, maxBytes: 1000 })
      hold.hold(0, message(1, 1), false)
      hold.deliverTo(sink(), 'n1')
      expect(hold.discard()).toBe(0)
    })
  })

  it('refuses bounds that are not positive: InvalidConfigError', () => {
    expect(errorName(() => new TentativeHold({ maxMessages: 0, maxBytes: 1000 }))).toBe('InvalidConfigError')
    expect(errorName(() => new TentativeHold({ maxMessages: 10, maxBytes: 0 }))).toBe('InvalidConfigError')
  })
})
