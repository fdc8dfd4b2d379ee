import { describe, expect, it } from '@jest/globals'
import { SendWindow } from '../src/transports/memory/send-window.ts'

describe('SendWindow', () => {
  it('lets the sender go on below the window and counts what is unread', () => {
    const w = new SendWindow(100)
    expect([w.sent(40), w.sent(59)]).toEqual([true, true])
    expect(w.unreadBytes).toBe(99)
    expect(w.takeDrain()).toBe(false)
  })

  describe('when the window is full', () => {
    it('tells the sender to wait, and to go on once, when the remote has read below the window', () => {
      const w = new SendWindow(100)
      expect(w.sent(100)).toBe(false)
      expect(w.sent(10)).toBe(false)
      expect(w.read(10)).toBe(false)
      // 100 unread: still full
      expect(w.takeDrain()).toBe(false)
      expect(w.read(2)).toBe(false)
      expect([w.takeDrain(), w.takeDrain()]).toEqual([true, false])
      // 98 unread: one more byte fits, the next fills the window again
      expect([w.sent(1), w.sent(1)]).toEqual([true, false])
    })
  })

  it('says when nothing is unread any more', () => {
    const w = new SendWindow(100)
    w.sent(30)
    expect([w.read(20), w.read(10)]).toEqual([false, true])
    expect(w.unreadBytes).toBe(0)
  })
})
