import { describe } from '@jest/globals'
import { describeNetworkBehaviour } from './network-behaviour.suite.ts'
import { Libp2pHarness } from './helpers/harness.ts'

describe('NetworkModule over libp2p (TCP + Noise + Yamux on 127.0.0.1)', () => {
  describeNetworkBehaviour(() => new Libp2pHarness())
})
