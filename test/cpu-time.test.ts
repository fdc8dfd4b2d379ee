import { describe, expect, it } from '@jest/globals'
import { clockTicksPerSecond, cpuCeilingMsgsPerSec, cpuSeconds, cpuSecondsInTicks, cpuSnapshot, cpuTotal, cpuUsPerMessage, medianCpu } from '../bench/lib/cpu-time.ts'

describe('bench CPU time', () => {
  it('reads the clock ticks per second of /proc times', () => {
    expect(clockTicksPerSecond()).toBeGreaterThan(0)
  })

  it("counts this process's CPU time going up as it works", async () => {
    const before = await cpuSeconds(process.pid)
    const start = process.cpuUsage()
    let x = 0
    while (process.cpuUsage(start).user < 200_000) x += Math.sqrt(x + 1)
    expect(x).toBeGreaterThan(0)
    const after = await cpuSeconds(process.pid)
    // 0.2 s of user time spent (and a little system time)
    expect(after - before).toBeGreaterThanOrEqual(0.2 - 0.001)
  })

  it('resolves a millisecond of CPU (the clock ticks of /proc/<pid>/stat are 10 ms)', async () => {
    const spin = (): void => {
      const start = process.cpuUsage()
      let x = 0
      while (process.cpuUsage(start).user < 1_000) x += Math.sqrt(x + 1)
      expect(x).toBeGreaterThan(0)
    }
    const before = await cpuSeconds(process.pid)
    spin()
    const after = await cpuSeconds(process.pid)
    expect(after - before).toBeGreaterThanOrEqual(0.001)
    expect(after - before).toBeLessThan(0.01)
  })

  it('also reads the clock ticks (the fallback), which agree with getrusage within a few ticks', async () => {
    const start = process.cpuUsage()
    let x = 0
    while (process.cpuUsage(start).user < 50_000) x += Math.sqrt(x + 1)
    expect(x).toBeGreaterThan(0)
    const usage = process.cpuUsage()
    const ticks = await cpuSecondsInTicks(process.pid)
    // both count every thread of the process, exited ones included
    expect(Math.abs(ticks - (usage.user + usage.system) / 1e6)).toBeLessThanOrEqual(3 / clockTicksPerSecond())
  })

  it('gives each process its µs per message between two snapshots', async () => {
    const snap = await cpuSnapshot({ self: process.pid })
    expect(Object.keys(snap)).toEqual(['self'])
    expect(cpuUsPerMessage({ a: 1, b: 2 }, { a: 1.5, b: 2.1 }, 100_000)).toEqual({ a: expect.closeTo(5, 9), b: expect.closeTo(1, 9) })
  })

  it("takes each process's median over rounds, and the ceiling the total allows", () => {
    const m = medianCpu([{ a: 1, b: 9 }, { a: 3, b: 5 }, { a: 2, b: 7 }])
    expect(m).toEqual({ a: 2, b: 7 })
    expect(cpuTotal(m)).toBe(9)
    // 2 cores, 10 µs a message: 200k msg/s
    expect(cpuCeilingMsgsPerSec(10, 2)).toBe(200_000)
  })
})
