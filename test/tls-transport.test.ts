import { describe } from '@jest/globals'
import { describeNetworkBehaviour } from './network-behaviour.suite.ts'
import { TlsHarness } from './helpers/harness.ts'

describe('NetworkModule over TLS (TCP + TLS 1.3, Ed25519 certificates, on 127.0.0.1)', () => {
  describeNetworkBehaviour(() => new TlsHarness())
})
