import { connectionState } from './status.ts'
import type { NetworkModule, PeerStateDetail } from '../core/network-module.ts'
import type { WatchPeersResponseSchema } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import type { MessageInitShape } from '@bufbuild/protobuf'

type PeerEvent = MessageInitShape<typeof WatchPeersResponseSchema>

/**
 * The WatchPeers stream: every member's link state now, then each change.
 * Changes not yet sent are kept one per member (the latest), so a slow
 * client holds at most one pending event per member. Ends when `signal`
 * aborts (the call ends or the daemon stops).
 */
export async function * watchPeers (net: NetworkModule, signal: AbortSignal): AsyncGenerator<PeerEvent> {
  const lastError = (nodeId: string): string => net.peerStats(nodeId)?.lastError ?? ''
  const pending = new Map<string, PeerEvent>()
  let wake: (() => void) | undefined
  const onState = (event: Event): void => {
    const { nodeId, state } = (event as CustomEvent<PeerStateDetail>).detail
    // the latest state of a member goes last
    pending.delete(nodeId)
    pending.set(nodeId, { nodeId, state: connectionState(state), lastError: lastError(nodeId) })
    wake?.()
  }
  const onAbort = (): void => { wake?.() }
  // listening before the snapshot: nothing can happen in between (both synchronous)
  net.addEventListener('peer-state', onState)
  signal.addEventListener('abort', onAbort)
  try {
    for (const p of net.stats().peers) yield { nodeId: p.nodeId, state: connectionState(p.state), lastError: p.lastError ?? '' }
    while (!signal.aborted) {
      for (const [nodeId, event] of pending) {
        pending.delete(nodeId)
        yield event
        if (signal.aborted) return
      }
      if (pending.size === 0) await new Promise<void>(resolve => { wake = resolve })
      wake = undefined
    }
  } finally {
    net.removeEventListener('peer-state', onState)
    signal.removeEventListener('abort', onAbort)
  }
}
