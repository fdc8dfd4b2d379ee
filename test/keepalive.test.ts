import { describe, expect, it } from '@jest/globals'
import { stalledMs, unresponsiveReason } from '../src/core/keepalive.ts'
import type { KeepaliveView } from '../src/core/keepalive.ts'

const config = { timeoutMs: 3_000, idleIntervalMs: 5_000 }
/** A link that answered, heard and progressed at time 0, with nothing outstanding. */
const quiet: KeepaliveView = { lastHeardMs: 0, lastProgressMs: 0, answered: true, unconfirmed: 0, oldestUnacknowledgedMs: undefined }

describe('the sender keepalive rule (pure)', () => {
  it('lets an idle link be silent for three idle intervals, not longer', () => {
    expect(unresponsiveReason(15_000, quiet, config)).toBeUndefined()
    expect(unresponsiveReason(15_001, quiet, config)).toBe('nothing heard from the peer for 15001 ms')
  })

  it('does not count the time without progress while nothing is outstanding', () => {
    // heard recently, progress long ago, nothing written: fine
    expect(unresponsiveReason(60_000, { ...quiet, lastHeardMs: 59_000 }, config)).toBeUndefined()
  })

  it('drops a link whose outstanding messages see no progress for the timeout (a cut under traffic)', () => {
    const link = { ...quiet, unconfirmed: 7, oldestUnacknowledgedMs: 0 }
    expect(unresponsiveReason(3_000, link, config)).toBeUndefined()
    expect(unresponsiveReason(3_001, link, config)).toBe('the peer acknowledged none of 7 messages for 3001 ms without saying it is holding them')
  })

  it('drops a link whose hello stays unanswered for the timeout', () => {
    const link = { ...quiet, answered: false }
    expect(unresponsiveReason(3_000, link, config)).toBeUndefined()
    expect(unresponsiveReason(3_001, link, config)).toBe('the peer did not answer the hello for 3001 ms')
  })

  it('drops a link whose data is cut one way: acks arrive, the oldest message outstanding is older than the timeout, no progress for half of it', () => {
    // acks heard just now, the last progress 1.6 s ago, the oldest outstanding written 3.1 s ago
    const link = { ...quiet, lastHeardMs: 3_100, lastProgressMs: 1_500, unconfirmed: 3, oldestUnacknowledgedMs: 0 }
    expect(unresponsiveReason(3_100, link, config)).toMatch(/acknowledged none of 3 messages for 1600 ms/)
    // the same, with progress 1.4 s ago: still waiting
    expect(unresponsiveReason(3_100, { ...link, lastProgressMs: 1_700 }, config)).toBeUndefined()
    // the same, with the oldest outstanding younger than the timeout: still waiting
    expect(unresponsiveReason(3_100, { ...link, oldestUnacknowledgedMs: 200 }, config)).toBeUndefined()
  })

  it('a held lane is progress: the receiver that says so keeps the link', () => {
    // the Dispatcher moves lastProgressMs on a held ack; with it recent, outstanding messages wait as long as needed
    const link = { ...quiet, lastHeardMs: 29_000, lastProgressMs: 29_000, unconfirmed: 4_096, oldestUnacknowledgedMs: 0 }
    expect(unresponsiveReason(30_000, link, config)).toBeUndefined()
  })
})

describe('stalledMs: a late check is a stall of this process, not silence of the peer', () => {
  it('is 0 for a check on time or up to one period late', () => {
    expect(stalledMs(1_000, 0, 1_000)).toBe(0)
    expect(stalledMs(2_000, 0, 1_000)).toBe(0)
  })

  it('is the lateness when a check came more than one period late', () => {
    expect(stalledMs(3_500, 0, 1_000)).toBe(2_500)
  })
})
