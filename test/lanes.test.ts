import { describe, expect, it } from '@jest/globals'
import { resolveConfig } from '../src/core/config.ts'
import { ALL_LANES, formatLaneSpecs, laneMask, parseLaneSpecs } from '../src/core/lanes.ts'

describe('lane configuration', () => {
  it('defaults to control (strict), consensus (default lane) and bulk', () => {
    const c = resolveConfig()
    expect(c.lanes.map(l => [l.number, l.name, l.strict, l.weight])).toEqual([[0, 'control', true, 0], [1, 'consensus', false, 4], [2, 'bulk', false, 1]])
    expect(c.defaultLane).toBe(1)
    expect(c.lanes.every(l => l.queueCapacity === c.queueCapacity && l.windowBytes === c.windowBytes)).toBe(true)
  })

  it('parses specs with per-lane settings and writes them back', () => {
    const lanes = parseLaneSpecs('votes:strict, blocks:2:window-bytes=4MiB:queue-messages=64,sync:1:queue-bytes=256MiB')
    expect(lanes).toEqual([
      { name: 'votes', strict: true },
      { name: 'blocks', weight: 2, windowBytes: 4 * 1024 * 1024, queueCapacity: 64 },
      { name: 'sync', weight: 1, queueMaxBytes: 256 * 1024 * 1024 }
    ])
    expect(formatLaneSpecs(lanes)).toBe('votes:strict,blocks:2,sync:1')
    const c = resolveConfig({ lanes })
    // no lane called consensus: the first weighted lane is the default
    expect(c.defaultLane).toBe(1)
    expect(c.lanes[1]).toMatchObject({ windowBytes: 4 * 1024 * 1024, queueCapacity: 64 })
    expect(laneMask(c.lanes, ['votes', 'sync'])).toBe(0b101)
    expect(laneMask(c.lanes, [])).toBe(ALL_LANES)
  })

  it('refuses bad specs with a message naming the problem', () => {
    expect(() => parseLaneSpecs('')).toThrow(/no lanes/)
    expect(() => parseLaneSpecs('votes')).toThrow(/NAME:strict or NAME:WEIGHT/)
    expect(() => parseLaneSpecs('votes:fast')).toThrow(/weight.*whole number/)
    expect(() => parseLaneSpecs('votes:1:window=3')).toThrow(/unknown setting "window=3"/)
    expect(() => parseLaneSpecs('votes:1:window-bytes=lots')).toThrow(/64KiB/)
    expect(() => resolveConfig({ lanes: parseLaneSpecs('a:1,a:2') })).toThrow(/configured twice/)
    expect(() => resolveConfig({ lanes: parseLaneSpecs('a b:1') })).toThrow(/name must be/)
    expect(() => resolveConfig({ lanes: parseLaneSpecs('a:0') })).toThrow(/weight must be an integer 1-1000/)
    expect(() => resolveConfig({ lanes: parseLaneSpecs('0:1,1:1,2:1,3:1,4:1,5:1,6:1,7:1,8:1') })).toThrow(/between 1 and 8 lanes/)
    expect(() => resolveConfig({ defaultLane: 'nope' })).toThrow(/defaultLane "nope" is not one of the lanes \(control, consensus, bulk\)/)
    expect(() => laneMask(resolveConfig().lanes, ['votes'])).toThrow(expect.objectContaining({ name: 'UnknownLaneError' }))
    expect(() => resolveConfig({ chunkBytes: 1024 * 1024, coalesceBytes: 64 * 1024 })).toThrow(/chunkBytes/)
  })
})
