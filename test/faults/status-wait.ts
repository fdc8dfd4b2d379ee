import { ConnectionState } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import { eventually } from '../helpers/wait.ts'
import type { MirnetClient } from '../../src/client/client.ts'
import type { PeerStatus } from '../../gen/ts/mirnet/v1/transport_pb.ts'

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
 * Poll a daemon's GetStatus until its entry for member `nodeId` satisfies
 * `accept`; resolves with the milliseconds that took, rejects after
 * `timeoutMs` with `describe` of the last entry seen.
 */
export async function waitForPeer (client: MirnetClient, nodeId: string, accept: (peer: PeerStatus) => boolean, timeoutMs: number, describe: (peer: PeerStatus) => string = p => NAMES[p.state]): Promise<number> {
  const started = performance.now()
  await eventually(`${nodeId}'s link to change`, async () => {
    const peer = (await client.getStatus({}, { timeoutMs: 10_000 })).peers.find(p => p.nodeId === nodeId)
    return { accepted: peer !== undefined && accept(peer), state: peer === undefined ? 'absent' : describe(peer) }
  }, seen => seen.accepted, { timeoutMs, intervalMs: POLL_MS })
  return performance.now() - started
}

/** Wait until the outbound link to `nodeId` is in a state `accept` takes; resolves with the milliseconds that took. */
export async function waitForPeerState (client: MirnetClient, nodeId: string, accept: (state: StateName) => boolean, timeoutMs: number): Promise<number> {
  return await waitForPeer(client, nodeId, p => accept(NAMES[p.state]), timeoutMs)
}
