import { inspect } from 'node:util'
import type { NetworkModule, PeerStateDetail } from '../../src/core/network-module.ts'
import type { LinkState, PeerStats } from '../../src/core/peer-stats.ts'
import type { ReceivedMessage } from '../../src/core/inbox.ts'

type Awaitable<T> = T | Promise<T>

/** How long to wait and how often to look: a number is the timeout alone. */
export type Patience = number | { timeoutMs?: number, intervalMs?: number }

/** How often `eventually` looks again, in ms. */
const POLL_INTERVAL_MS = 5

/**
 * Poll until a condition holds, for values that have no event of their own
 * (counters, another process's state); reject after `timeoutMs` with what was
 * awaited and, in the second form, the last value read.
 *
 * - `eventually(what, check, timeoutMs?)`: resolves with `check()`'s value once
 *   it is neither undefined nor false.
 * - `eventually(what, read, done, timeoutMs?)`: resolves with `read()`'s value
 *   once `done(value)` holds.
 *
 * `check` and `read` may be async; each is called again `intervalMs` (5 ms
 * unless `patience` says otherwise) after the last call settled. An error
 * they throw rejects at once. `patience` is the timeout in ms (10 s unless
 * given), or `{ timeoutMs, intervalMs }`.
 */
export async function eventually<T> (what: string, check: () => Awaitable<T | undefined | false>, patience?: Patience): Promise<T>
export async function eventually<T> (what: string, read: () => Awaitable<T>, done: (value: T) => boolean, patience?: Patience): Promise<T>
export async function eventually<T> (
  what: string,
  read: () => Awaitable<T | undefined | false>,
  doneOrPatience?: ((value: T) => boolean) | Patience,
  patienceArg?: Patience
): Promise<T> {
  const done = typeof doneOrPatience === 'function' ? doneOrPatience : undefined
  const patience = typeof doneOrPatience === 'function' ? patienceArg : doneOrPatience
  const timeoutMs = (typeof patience === 'number' ? patience : patience?.timeoutMs) ?? 10_000
  const intervalMs = (typeof patience === 'number' ? undefined : patience?.intervalMs) ?? POLL_INTERVAL_MS
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done === undefined ? value !== undefined && value !== false : done(value as T)) return value as T
    if (Date.now() > deadline) {
      const seen = done === undefined ? '' : `; last seen: ${show(value)}`
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen}`)
    }
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}

/** A value for an error message: one line, bigints and all, at most 1,000 characters. */
function show (value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : inspect(value, { depth: 3, breakLength: Infinity })
  return text.length > 1_000 ? `${text.slice(0, 1_000)}… (${text.length} characters)` : text
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
