import { describe, expect, it } from '@jest/globals'
import { Ticker } from '../src/core/ticker.ts'

describe('Ticker', () => {
  it('runs every registered task on each tick of one timer, and stops its timer when the last task is removed', async () => {
    const ticker = new Ticker(20)
    const runs = { a: 0, b: 0 }
    const removeA = ticker.add(() => { runs.a++ })
    expect(ticker.running).toBe(true)
    let removeB = (): void => {}
    await new Promise<void>(resolve => {
      removeB = ticker.add(() => { if (++runs.b === 3) resolve() })
    })
    // one timer: a was added first and runs before b on every tick
    expect(runs.a).toBeGreaterThanOrEqual(3)
    removeA()
    const aAfterRemoval = runs.a
    await new Promise<void>(resolve => {
      const stop = ticker.add(() => { if (runs.b >= 6) { stop(); resolve() } })
    })
    expect(runs.a).toBe(aAfterRemoval)
    removeB()
    expect(ticker.size).toBe(0)
    expect(ticker.running).toBe(false)
  })
})
