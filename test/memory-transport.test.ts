import { describe } from '@jest/globals'
import { describeNetworkBehaviour } from './network-behaviour.suite.ts'
import { MemoryHarness } from './helpers/harness.ts'

describe('NetworkModule over the in-memory transport', () => {
  describeNetworkBehaviour(() => new MemoryHarness())
})
