import { describe, expect, it } from '@jest/globals'
import { LaneScheduler } from '../src/core/lane-scheduler.ts'

/** Run the scheduler over lanes that always have items of the given sizes; returns bytes written per lane. */
function run (scheduler: LaneScheduler, sizes: number[], picks: number, ready: (lane: number) => boolean = () => true): number[] {
  const written = sizes.map(() => 0)
  for (let i = 0; i < picks; i++) {
    const lane = scheduler.pick(l => ready(l) ? sizes[l] : -1)
    if (lane < 0) break
    scheduler.charge(lane, sizes[lane])
    written[lane] += sizes[lane]
  }
  return written
}

describe('LaneScheduler', () => {
  const chunk = 16 * 1024

  it('shares the link among weighted lanes by bytes, whatever their item sizes', () => {
    // lane 0 sends 256 B items, lane 1 whole chunks: byte shares follow the weights 4:1
    const s = new LaneScheduler([{ strict: false, weight: 4 }, { strict: false, weight: 1 }], chunk, 256 * 1024)
    const written = run(s, [256, chunk], 100_000)
    const share = written[0] / (written[0] + written[1])
    expect(share).toBeGreaterThan(0.78)
    expect(share).toBeLessThan(0.82)
  })

  it('starves no lane of large items: every round each backlogged lane writes at least one', () => {
    // CometBFT's byte-weighted choice keeps a lane of large block parts waiting behind a busy small-message lane
    const s = new LaneScheduler([{ strict: false, weight: 10 }, { strict: false, weight: 1 }], chunk, 256 * 1024)
    const order: number[] = []
    for (let i = 0; i < 20_000; i++) {
      const lane = s.pick(l => l === 0 ? 64 : chunk)
      s.charge(lane, lane === 0 ? 64 : chunk)
      order.push(lane)
    }
    // a round is 10 × 16 KiB of 64 B items (2,560 of them) and one chunk of lane 1
    const round = 10 * chunk / 64 + 1
    const turns = order.flatMap((l, i) => l === 1 ? [i] : [])
    expect(turns[0]).toBeLessThan(round)
    for (let i = 1; i < turns.length; i++) expect(turns[i] - turns[i - 1]).toBe(round)
    expect(turns.length).toBe(Math.floor(20_000 / round))
  })

  it('serves strict lanes first, but lets one weighted item through after a burst', () => {
    const burst = 256 * 1024
    const s = new LaneScheduler([{ strict: true, weight: 0 }, { strict: false, weight: 1 }], chunk, burst)
    const order: number[] = []
    for (let i = 0; i < 1000; i++) {
      const lane = s.pick(() => 1024)
      s.charge(lane, 1024)
      order.push(lane)
    }
    // 256 items of 1 KiB from the strict lane, then one from the other, and so on
    expect(order.slice(0, 256).every(l => l === 0)).toBe(true)
    expect(order[256]).toBe(1)
    expect(order.filter(l => l === 1).length).toBe(Math.floor(1000 / 257))
  })

  it('serves a strict lane at once when nothing else waits, and the weighted lanes when it is empty', () => {
    const s = new LaneScheduler([{ strict: true, weight: 0 }, { strict: false, weight: 4 }, { strict: false, weight: 1 }], chunk, 256 * 1024)
    expect(s.pick(l => l === 0 ? 100 : -1)).toBe(0)
    expect(s.pick(() => -1)).toBe(-1)
    const written = run(s, [1, chunk, chunk], 5_000, l => l !== 0)
    expect(written[0]).toBe(0)
    expect(written[1] / written[2]).toBeCloseTo(4, 1)
  })

  it('gives an idle lane no credit to burst with later', () => {
    const s = new LaneScheduler([{ strict: false, weight: 1 }, { strict: false, weight: 1 }], chunk, 256 * 1024)
    // lane 1 idle for a long time while lane 0 writes
    run(s, [chunk, chunk], 1_000, l => l === 0)
    // then both backlogged: they alternate rather than lane 1 catching up
    const order: number[] = []
    for (let i = 0; i < 10; i++) {
      const lane = s.pick(() => chunk)
      s.charge(lane, chunk)
      order.push(lane)
    }
    expect(order.filter(l => l === 1).length).toBe(5)
  })
})

describe('LaneScheduler with items larger than the quantum', () => {
  it('never refuses a lane that has an item, and keeps the byte shares by repaying the debt', () => {
    const chunk = 16 * 1024
    const s = new LaneScheduler([{ strict: false, weight: 4 }, { strict: false, weight: 1 }], chunk, 256 * 1024)
    // lane 1's items are 2 MiB (a whole message taken from the inbox)
    const sizes = [1024, 2 * 1024 * 1024]
    const written = [0, 0]
    for (let i = 0; i < 200_000; i++) {
      const lane = s.pick(l => sizes[l])
      expect(lane).toBeGreaterThanOrEqual(0)
      s.charge(lane, sizes[lane])
      written[lane] += sizes[lane]
    }
    expect(written[0] / written[1]).toBeGreaterThan(3.5)
    expect(written[0] / written[1]).toBeLessThan(4.5)
    // alone, the large item goes at once
    const alone = new LaneScheduler([{ strict: false, weight: 1 }], chunk, 256 * 1024)
    expect(alone.pick(() => 16 * 1024 * 1024)).toBe(0)
  })

  it('goes on serving a lane in debt while no other lane has an item, and keeps the shares once one has', () => {
    const chunk = 16 * 1024
    const big = 3 * 1024 * 1024
    const s = new LaneScheduler([{ strict: true, weight: 0 }, { strict: false, weight: 4 }, { strict: false, weight: 1 }], chunk, 256 * 1024)
    // only lane 1 has items, each far over its quantum: every pick is lane 1, the first and the next ones
    for (let i = 0; i < 5; i++) {
      expect(s.pick(l => l === 1 ? big : -1)).toBe(1)
      s.charge(1, big)
    }
    // both weighted lanes backlogged with large items: shares by weight, 4:1
    const written = [0, 0, 0]
    for (let i = 0; i < 1_000; i++) {
      const lane = s.pick(l => l === 0 ? -1 : big)
      expect(lane).toBeGreaterThan(0)
      s.charge(lane, big)
      written[lane] += big
    }
    expect(written[1] / written[2]).toBeGreaterThan(3.5)
    expect(written[1] / written[2]).toBeLessThan(4.5)
  })
})
