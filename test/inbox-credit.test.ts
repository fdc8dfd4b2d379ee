import { describe, expect, it } from '@jest/globals'
import { ConsumerPace } from '../src/core/inbox-credit.ts'

const config = { windowMessages: 4096, capacity: 4096, maxBytes: 64 << 20, targetMs: 100, minCredit: 32 }

describe('ConsumerPace: the credit a lane of the inbox gives (pure, on given times)', () => {
  it('starts at the least credit and doubles it every time the consumer empties the lane, up to the window', () => {
    const pace = new ConsumerPace(config)
    pace.update(0, 0, 0)
    expect([pace.paced, pace.credit(0, 0)]).toEqual([true, 32])
    const credits: number[] = []
    for (let i = 0; i < 8; i++) {
      // the consumer takes everything that arrives at once, within the same millisecond
      pace.onTaken(pace.credit(0, 0), 0)
      pace.update(1, 0, 0)
      credits.push(pace.credit(0, 0))
    }
    expect(credits).toEqual([64, 128, 256, 512, 1024, 2048, 4096, 4096])
    expect(pace.paced).toBe(false)
  })

  it('does not grow for a consumer that never empties the lane', () => {
    const pace = new ConsumerPace(config)
    let now = 0
    pace.update(now, 0, 0)
    for (let i = 0; i < 20; i++) {
      // 1 of the 32 taken every 10 ms: 100 msg/s, the oldest waiting longer than the target
      pace.onTaken(1, 31)
      now += 10
      pace.update(now, 31, 300)
    }
    expect(pace.paced).toBe(true)
    expect(pace.credit(31, 0)).toBe(1)
  })

  it('gives a consumer that falls behind about what it takes in the target delay, less what waits', () => {
    const pace = new ConsumerPace(config)
    let now = 0
    // ramped up: a consumer that kept up
    for (let i = 0; i < 8; i++) { pace.onTaken(4096, 0); now += 100; pace.update(now, 0, 0) }
    expect(pace.paced).toBe(false)
    expect(pace.credit(10, 0)).toBe(4086)
    // then it slows to 1,000 msg/s while 3,000 wait, the oldest for 150 ms
    pace.onTaken(100, 3000)
    now += 100
    pace.update(now, 3000, 150)
    expect(pace.paced).toBe(true)
    expect(pace.rate).toBe(1000)
    // 1,000 msg/s × 100 ms: a budget of 100, already exceeded by the backlog
    expect(pace.credit(3000, 0)).toBe(0)
    // once the backlog is down to 40: 60 more
    expect(pace.credit(40, 0)).toBe(60)
  })

  it('keeps the least credit for a consumer that takes nothing', () => {
    const pace = new ConsumerPace(config)
    let now = 0
    pace.update(now, 0, 0)
    for (let i = 0; i < 20; i++) { now += 100; pace.update(now, 32, now) }
    expect(pace.credit(0, 0)).toBe(32)
    expect(pace.credit(32, 0)).toBe(0)
  })

  it('gives nothing when the lane is at its capacity in messages or bytes, and never more than the room left', () => {
    const pace = new ConsumerPace({ ...config, capacity: 100, maxBytes: 1000, minCredit: 4096 })
    pace.update(0, 0, 0)
    expect(pace.credit(0, 0)).toBe(100)
    expect(pace.credit(60, 0)).toBe(40)
    expect(pace.credit(100, 0)).toBe(0)
    expect(pace.credit(1, 1000)).toBe(0)
  })

  it('does not pace a fast consumer for a short stall: its rate sets a large budget', () => {
    const pace = new ConsumerPace(config)
    let now = 0
    for (let i = 0; i < 8; i++) { pace.onTaken(4096, 0); now += 100; pace.update(now, 0, 0) }
    // 40,000 taken in the last 100 ms, then a 150 ms stall with 2,000 waiting
    pace.onTaken(40_000, 2000)
    now += 100
    pace.update(now, 2000, 150)
    expect(pace.paced).toBe(true)
    expect(pace.budget).toBe(4096)
    expect(pace.credit(2000, 0)).toBe(2096)
    // it caught up: the next interval ends the pacing
    pace.onTaken(2000, 0)
    now += 100
    pace.update(now, 0, 0)
    expect(pace.paced).toBe(false)
  })
})
