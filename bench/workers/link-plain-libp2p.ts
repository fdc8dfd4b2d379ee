/**
 * The `libp2p-per-message` baseline's node: plain js-libp2p 3 with TCP +
 * Noise + Yamux and library defaults (no mirnet tuning), on 127.0.0.1.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { generateKey } from '../../src/transports/libp2p/keys.ts'
import type { Libp2p } from '@libp2p/interface'

export const BENCH_PROTOCOL = '/mirnet-bench/per-message/1.0.0'

export async function createPlainNode (): Promise<Libp2p> {
  return await createLibp2p({
    privateKey: await generateKey(),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}
