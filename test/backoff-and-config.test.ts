import { describe, expect, it } from '@jest/globals'
import { Backoff } from '../src/core/backoff.ts'
import { resolveConfig } from '../src/core/config.ts'

describe('Backoff', () => {
  it('retries first within the initial delay and never waits past the cap', () => {
    for (let run = 0; run < 200; run++) {
      const b = new Backoff(100, 2000)
      expect(b.next()).toBeLessThan(100)
      for (let i = 0; i < 20; i++) expect(b.next()).toBeLessThan(2000)
    }
  })

  it('grows exponentially with jitter until it is reset', () => {
    const b = new Backoff(100, 100_000)
    const ceilings = Array.from({ length: 6 }, () => b.next())
    ceilings.forEach((d, i) => { expect(d).toBeLessThan(100 * 2 ** i) })
    b.reset()
    expect(b.next()).toBeLessThan(100)
  })
})

describe('resolveConfig', () => {
  it('fills in defaults without touching the caller\'s object', () => {
    const init = { queueCapacity: 8 }
    const config = resolveConfig(init)
    expect(config.queueCapacity).toBe(8)
    expect(config.maxFrameBytes).toBe(16 * 1024 * 1024)
    expect(config.reconnectMaxDelayMs).toBeLessThanOrEqual(2000)
    expect(init).toEqual({ queueCapacity: 8 })
  })

  it('takes 0 for dialYieldMs (dial at once)', () => {
    expect(resolveConfig({ dialYieldMs: 0 }).dialYieldMs).toBe(0)
  })

  it.each([
    [{ queueCapacity: 0 }, /queueCapacity/],
    [{ queueCapacity: 1.5 }, /integer/],
    [{ coalesceBytes: -1 }, /coalesceBytes/],
    [{ queueMaxBytes: 1024 }, /at least maxFrameBytes/],
    [{ reconnectInitialDelayMs: 500, reconnectMaxDelayMs: 100 }, /reconnectMaxDelayMs/],
    [{ dialYieldMs: -1 }, /dialYieldMs must be a non-negative number/],
    [{ dialTimeoutMs: 0 }, /dialTimeoutMs must be a positive number/]
  ])('refuses %j', (init, message) => {
    expect(() => resolveConfig(init)).toThrow(expect.objectContaining({ name: 'InvalidConfigError', message: expect.stringMatching(message) }))
  })
})
