import type { NetworkModule, PeerStateDetail } from '../../src/core/network-module.ts'
import type { LinkState, PeerStats } from '../../src/core/peer-stats.ts'
import type { ReceivedMessage } from '../../src/core/inbox.ts'

/**
 * Resolve once `check()` returns a value other than undefined/false, checking
 * after each turn of the timer queue; reject after `timeoutMs` with `what`.
 * For counters that have no event of their own.
 */
export async function eventually<T> (what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

/** Resolve on the `peer-state` event of `nodeId` reaching one of `states`. */
export async function peerState (module: NetworkModule, nodeId: string, states: LinkState[], timeoutMs = 10_000): Promise<void> {
  if (states.includes(peer(module, nodeId)?.state as LinkState)) return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      module.removeEventListener('peer-state', onState)
      reject(new Error(`timed out waiting for ${nodeId} to be ${states.join('|')}`))
    }, timeoutMs)
    const onState = (evt: Event): void => {
      const detail = (evt as CustomEvent<PeerStateDetail>).detail
      if (detail.nodeId !== nodeId || !states.includes(detail.state)) return
      clearTimeout(timer)
      module.removeEventListener('peer-state', onState)
      resolve()
    }
    module.addEventListener('peer-state', onState)
  })
}

export function peer (module: NetworkModule, nodeId: string): PeerStats | undefined {
  return module.stats().peers.find(p => p.nodeId === nodeId)
}

/** Take exactly `count` messages from the module's inbox, failing after `timeoutMs`. */
export async function receive (module: NetworkModule, count: number, timeoutMs = 20_000): Promise<ReceivedMessage[]> {
  const signal = AbortSignal.timeout(timeoutMs)
  const out: ReceivedMessage[] = []
  try {
    while (out.length < count) {
      if (!await module.inbox.wait(signal)) break
      out.push(...module.inbox.take(count - out.length))
    }
  } catch (err) {
    throw new Error(`received ${out.length} of ${count} messages before timing out (${(err as Error).name})`)
  }
  return out
}

/** Payload naming a sender and a sequence number. */
export function numbered (sender: string, seq: number, size = 16): Uint8Array {
  const text = new TextEncoder().encode(`${sender}:${seq}`)
  const out = new Uint8Array(Math.max(size, text.byteLength))
  out.set(text)
  return out
}

export function parseNumbered (payload: Uint8Array): { sender: string, seq: number } {
  const text = new TextDecoder().decode(payload).replace(/\0+$/, '')
  const [sender, seq] = text.split(':')
  return { sender, seq: Number(seq) }
}
