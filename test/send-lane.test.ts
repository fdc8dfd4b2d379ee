import { describe, expect, it } from '@jest/globals'
import { FramePlan } from '../src/core/frame-codec.ts'
import { SendLane } from '../src/core/send-lane.ts'
import type { Lane } from '../src/core/lanes.ts'

function lane (init: Partial<Lane> = {}): Lane {
  return { number: 2, name: 'bulk', strict: false, weight: 1, queueCapacity: 10, queueMaxBytes: 1 << 20, windowMessages: 4, windowBytes: 1 << 20, ...init }
}

/** Write everything the lane may write now; returns the frames' byte counts. */
function writeAll (l: SendLane, plan = new FramePlan()): number[] {
  const sizes: number[] = []
  while (l.nextSize() >= 0) sizes.push(l.writeNext(plan, Date.now()))
  plan.encode(4096)
  return sizes
}

const msg = (n: number, size = 10): Uint8Array => new Uint8Array(size).fill(n)
/** A credit larger than any window here: the receiver does not hold the lane back. */
const OPEN = 1_000_000

describe('SendLane', () => {
  it('writes nothing before the receiver answered, then at most a window', () => {
    const l = new SendLane(lane(), 16_384)
    for (let i = 0; i < 8; i++) l.push(msg(i))
    l.begin()
    expect(l.nextSize()).toBe(-1)
    l.resume(false, 0, OPEN)
    expect(writeAll(l)).toEqual([10, 10, 10, 10])
    expect(l.stats()).toMatchObject({ queued: 4, sentMessages: 4, unconfirmedMessages: 4 })
    // acks reopen the window
    l.ack(3, 0, OPEN, Date.now())
    expect(writeAll(l)).toEqual([10, 10, 10])
    expect(l.stats()).toMatchObject({ queued: 1, sentMessages: 7, acknowledgedMessages: 3, unconfirmedMessages: 4 })
  })

  // found by the simulation (npm run sim, seed 9): the receiver numbered every later message one lower than the sender, and took a resend as new
  it('numbers the messages of a stream as the receiver does when a full lane drops one it has yet to resend', () => {
    const l = new SendLane(lane({ queueCapacity: 2 }), 16_384)
    l.push(msg(0))
    l.push(msg(1))
    l.begin()
    l.resume(true, 0, OPEN)
    expect(writeAll(l)).toEqual([10, 10])
    // the connection broke before any ack; the receiver took none of them
    l.end()
    l.begin()
    l.resume(true, 0, 0)
    // held (no credit) before resending: a new message pushes out message 0
    expect(l.push(msg(2))).toBe(1)
    l.ack(0, 0, OPEN, Date.now())
    expect(writeAll(l)).toEqual([10, 10])
    // the receiver took two messages on this stream, numbered 0 and 1 from the resume frame: messages 1 and 2
    l.ack(2, 0, OPEN, Date.now())
    expect(l.stats()).toMatchObject({ queued: 0, sentMessages: 3, resentMessages: 1, acknowledgedMessages: 2, droppedMessages: 1, unconfirmedMessages: 0 })
  })

  it('resends what the receiver lacks after a reconnect, and nothing it has', () => {
    const l = new SendLane(lane({ windowMessages: 100 }), 16_384)
    for (let i = 0; i < 6; i++) l.push(msg(i))
    l.begin()
    l.resume(false, 0, OPEN)
    writeAll(l)
    l.ack(2, 0, OPEN, Date.now())
    l.end()
    // the connection broke; the receiver had taken 4 of the 6 (its last acks were lost)
    l.begin()
    expect(l.retainedSeq).toBe(2)
    l.resume(true, 4, OPEN)
    const plan = new FramePlan()
    while (l.nextSize() >= 0) l.writeNext(plan, Date.now())
    expect(plan.count).toBe(2)
    plan.encode(4096)
    expect(l.stats()).toMatchObject({ sentMessages: 6, resentMessages: 2, acknowledgedMessages: 4, unconfirmedMessages: 2, lostInFlightMessages: 0, droppedMessages: 0 })
    l.ack(6, 0, OPEN, Date.now())
    expect(l.stats()).toMatchObject({ acknowledgedMessages: 6, unconfirmedMessages: 0, queued: 0 })
  })

  it('drops the oldest held message, written or not, and settles a written one when the receiver answers', () => {
    const l = new SendLane(lane({ queueCapacity: 4, windowMessages: 100 }), 16_384)
    for (let i = 0; i < 4; i++) l.push(msg(i, 100))
    l.begin()
    l.resume(false, 0, OPEN)
    writeAll(l)
    l.end()
    // during a partition: 4 newer messages push out the 4 written ones
    for (let i = 4; i < 8; i++) expect(l.push(msg(i, 100))).toBe(1)
    expect(l.stats()).toMatchObject({ queued: 4, unconfirmedMessages: 4, droppedMessages: 0 })
    l.begin()
    expect(l.retainedSeq).toBe(4)
    // the receiver had taken 1 of the 4: 3 were dropped (never arrived), counted now
    l.resume(true, 1, OPEN)
    expect(l.stats()).toMatchObject({ acknowledgedMessages: 1, droppedMessages: 3, droppedBytes: 300, unconfirmedMessages: 0, lostInFlightMessages: 0 })
    expect(writeAll(l)).toEqual([100, 100, 100, 100])
  })

  it('counts as lost what a restarted receiver cannot vouch for, and resends what it still holds', () => {
    const l = new SendLane(lane({ queueCapacity: 4, windowMessages: 100 }), 16_384)
    for (let i = 0; i < 4; i++) l.push(msg(i))
    l.begin()
    l.resume(false, 0, OPEN)
    writeAll(l)
    l.end()
    l.push(msg(4))
    l.begin()
    // a new life of the receiver: message 0 was pushed out unacknowledged, 1-3 are resent
    l.resume(false, 0, OPEN)
    expect(l.stats()).toMatchObject({ lostInFlightMessages: 1, unconfirmedMessages: 3 })
    expect(writeAll(l)).toEqual([10, 10, 10, 10])
    expect(l.stats()).toMatchObject({ resentMessages: 3, sentMessages: 5 })
  })

  it('writes a large message in chunks, held back by the window and moved on by acks of its bytes', () => {
    const l = new SendLane(lane({ windowBytes: 40_000 }), 16_384)
    l.push(msg(1, 100_000))
    l.begin()
    l.resume(false, 0, OPEN)
    // 16 KiB + 16 KiB + 16 KiB pass 40,000 bytes: the window stops the 4th chunk
    expect(writeAll(l)).toEqual([16_384, 16_384, 16_384])
    l.ack(0, 30_000, OPEN, Date.now())
    expect(writeAll(l)).toEqual([16_384, 16_384])
    l.ack(0, 81_920, OPEN, Date.now())
    expect(writeAll(l)).toEqual([16_384, 100_000 - 6 * 16_384])
    expect(l.stats()).toMatchObject({ sentMessages: 1, unconfirmedMessages: 1 })
    l.ack(1, 0, OPEN, Date.now())
    expect(l.stats()).toMatchObject({ acknowledgedMessages: 1, unconfirmedMessages: 0 })
  })

  it('writes no further than the receiver\'s credit past what it acknowledged; no credit: held', () => {
    const l = new SendLane(lane({ windowMessages: 100 }), 16_384)
    for (let i = 0; i < 10; i++) l.push(msg(i))
    l.begin()
    l.resume(false, 0, 3)
    expect(writeAll(l)).toEqual([10, 10, 10])
    // two taken, none more allowed: held
    l.ack(2, 0, 0, Date.now())
    expect(l.held).toBe(true)
    expect(writeAll(l)).toEqual([])
    // the consumer caught up: 4 past message 3
    l.ack(3, 0, 4, Date.now())
    expect(l.held).toBe(false)
    expect(writeAll(l)).toEqual([10, 10, 10, 10])
    expect(l.stats()).toMatchObject({ sentMessages: 7, acknowledgedMessages: 3, unconfirmedMessages: 4, queued: 3 })
  })

  it('discards what was never written when closed', () => {
    const l = new SendLane(lane({ windowMessages: 2 }), 16_384)
    for (let i = 0; i < 5; i++) l.push(msg(i))
    l.begin()
    l.resume(false, 0, OPEN)
    writeAll(l)
    expect(l.discard()).toBe(3)
    expect(l.stats()).toMatchObject({ queued: 0, discardedMessages: 3, unconfirmedMessages: 2 })
  })
})
