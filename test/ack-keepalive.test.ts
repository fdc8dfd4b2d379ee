import { describe, expect, it } from '@jest/globals'
import { ACK_KEEPALIVE_SLACK_MS, ackIntervalMs, keepaliveAckDue, nextKeepaliveCheckMs } from '../src/core/ack-keepalive.ts'

const config = { keepaliveIntervalMs: 1_000, idleKeepaliveIntervalMs: 5_000 }

describe("the receiver's keepalive rule (src/core/ack-keepalive.ts)", () => {
  it('acks every keepalive interval while a lane is held, every idle interval otherwise', () => {
    expect(ackIntervalMs(true, config)).toBe(1_000)
    expect(ackIntervalMs(false, config)).toBe(5_000)
  })

  it('is due one interval after the last write, or up to the slack before it, not earlier', () => {
    const last = 100_000
    expect(keepaliveAckDue(last + 1_000, last, true, config)).toBe(true)
    expect(keepaliveAckDue(last + 1_000 - ACK_KEEPALIVE_SLACK_MS, last, true, config)).toBe(true)
    expect(keepaliveAckDue(last + 1_000 - ACK_KEEPALIVE_SLACK_MS - 1, last, true, config)).toBe(false)
    // idle: the longer interval
    expect(keepaliveAckDue(last + 1_000, last, false, config)).toBe(false)
    expect(keepaliveAckDue(last + 5_000, last, false, config)).toBe(true)
    // a write just now: nothing due either way
    expect(keepaliveAckDue(last, last, true, config)).toBe(false)
  })

  it('looks again when the next ack would be due, never sooner than the slack', () => {
    const last = 100_000
    expect(nextKeepaliveCheckMs(last, last, true, config)).toBe(1_000)
    expect(nextKeepaliveCheckMs(last + 400, last, true, config)).toBe(600)
    expect(nextKeepaliveCheckMs(last + 400, last, false, config)).toBe(4_600)
    // overdue (a stalled process): at once, which is the slack
    expect(nextKeepaliveCheckMs(last + 7_000, last, false, config)).toBe(ACK_KEEPALIVE_SLACK_MS)
  })

  it('a timer set by nextKeepaliveCheckMs finds the ack due when it fires, held or idle, on time or by the slack early', () => {
    for (const held of [true, false]) {
      for (const now of [100_000, 100_123, 104_990]) {
        const last = 100_000
        const fires = now + nextKeepaliveCheckMs(now, last, held, config)
        expect(keepaliveAckDue(fires, last, held, config)).toBe(true)
        expect(keepaliveAckDue(fires - ACK_KEEPALIVE_SLACK_MS, last, held, config)).toBe(true)
      }
    }
  })
})
