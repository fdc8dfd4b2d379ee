import { describe, expect, it } from '@jest/globals'
import { QUICK_GROUPS, benchScenarios } from '../helpers/quick-bench.ts'

describe('the quick bench files of npm test', () => {
  it('cover every scenario of npm run bench, each once', async () => {
    const grouped: string[] = Object.values(QUICK_GROUPS).flat()
    expect(new Set(grouped).size).toBe(grouped.length)
    expect([...grouped].sort()).toEqual((await benchScenarios()).sort())
  })
})
