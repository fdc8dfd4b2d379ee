import { setTimeout as sleep } from 'node:timers/promises'
import { ConnectionState } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import type { MirnetClient } from '../../src/client/client.ts'

export type StateName = 'connecting' | 'open' | 'backoff' | 'closed' | 'local' | 'unspecified'

const NAMES: Record<ConnectionState, StateName> = {
  [ConnectionState.UNSPECIFIED]: 'unspecified',
  [ConnectionState.CONNECTING]: 'connecting',
  [ConnectionState.OPEN]: 'open',
  [ConnectionState.BACKOFF]: 'backoff',
  [ConnectionState.CLOSED]: 'closed',
  [ConnectionState.LOCAL]: 'local'
}

/** How often GetStatus is polled while waiting for a state. */
const POLL_MS = 20

/**
 * Poll a daemon's GetStatus until its outbound link to `nodeId` is in a state
 * `accept` takes; resolves with the milliseconds that took, rejects after
 * `timeoutMs` naming the last state seen.
 */
export async function waitForPeerState (client: MirnetClient, nodeId: string, accept: (state: StateName) => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now()
  let last: StateName | 'absent' = 'absent'
  for (;;) {
    const status = await client.getStatus({}, { timeoutMs: 10_000 })
    const peer = status.peers.find(p => p.nodeId === nodeId)
    if (peer !== undefined) {
      last = NAMES[peer.state]
      if (accept(last)) return performance.now() - started
    }
    if (performance.now() - started > timeoutMs) throw new Error(`link to ${nodeId} still ${last} after ${timeoutMs} ms`)
    await sleep(POLL_MS)
  }
}
