import { describe, expect, it } from '@jest/globals'
import { WindowEstimator } from '../src/core/window-estimator.ts'

const MiB = 1024 * 1024

/** A path of `rttMs` and `bytesPerMs`, fed round by round: each round trip delivers what the window lets out. */
function drive (w: WindowEstimator, rttMs: number, bytesPerMs: number, rounds: number, startMs = 0): number {
  let now = startMs
  let acked = 0
  w.onAcked(now, acked)
  for (let i = 0; i < rounds; i++) {
    now += rttMs
    acked += Math.min(w.windowBytes, bytesPerMs * rttMs)
    w.onRtt(now, rttMs)
    w.onAcked(now, acked)
  }
  return now
}

describe('WindowEstimator', () => {
  it('stays at the configured window on a LAN, where bandwidth × delay is small', () => {
    const w = new WindowEstimator(1 * MiB, 32 * MiB)
    drive(w, 0.3, 150_000, 1_000)
    expect(w.windowBytes).toBe(1 * MiB)
  })

  it('grows to twice bandwidth × delay on a long link, and no further', () => {
    const w = new WindowEstimator(1 * MiB, 32 * MiB)
    // 100 ms RTT, 100 MB/s: 1 MiB per round trip would cap the lane at 10 MB/s
    drive(w, 100, 100_000, 12)
    expect(w.windowBytes).toBe(2 * 100_000 * 100)
    expect(w.rateBytesPerMs).toBe(100_000)
    expect(w.minRttMs).toBe(100)
  })

  it('never passes its maximum', () => {
    const w = new WindowEstimator(1 * MiB, 4 * MiB)
    drive(w, 100, 100_000, 20)
    expect(w.windowBytes).toBe(4 * MiB)
  })

  it('follows a path that gets shorter: the minimum RTT and the rate are windowed', () => {
    const w = new WindowEstimator(1 * MiB, 32 * MiB)
    const now = drive(w, 100, 100_000, 12)
    expect(w.windowBytes).toBe(20_000_000)
    // the same peer now 1 ms away: once the old samples expire the window falls back
    w.restart()
    drive(w, 1, 100_000, 15_000, now)
    expect(w.minRttMs).toBe(1)
    expect(w.windowBytes).toBe(1 * MiB)
  })
})
