import { afterEach, describe, expect, it } from '@jest/globals'
import { ConnectionState } from '../gen/ts/mirnet/v1/transport_pb.ts'
import { createMirnetClient } from '../src/client/client.ts'
import { startTestDaemon } from './helpers/daemons.ts'
import type { WatchPeersResponse } from '../gen/ts/mirnet/v1/transport_pb.ts'
import type { Daemon } from '../src/daemon/daemon.ts'

/** Reads a WatchPeers stream into `events`; `until` resolves once `check` holds for what arrived. */
class Watch {
  readonly events: WatchPeersResponse[] = []
  readonly abort = new AbortController()
  readonly done: Promise<unknown>
  #waiters: Array<{ check: (e: WatchPeersResponse[]) => boolean, resolve: () => void }> = []

  constructor (d: Daemon) {
    const stream = createMirnetClient(d.info.api).watchPeers({}, { signal: this.abort.signal })
    this.done = (async () => {
      for await (const e of stream) {
        this.events.push(e)
        this.#waiters = this.#waiters.filter(w => { if (!w.check(this.events)) return true; w.resolve(); return false })
      }
    })().catch((err: unknown) => err)
  }

  async until (what: string, check: (e: WatchPeersResponse[]) => boolean, timeoutMs = 15_000): Promise<void> {
    if (check(this.events)) return
    await Promise.race([
      new Promise<void>(resolve => { this.#waiters.push({ check, resolve }) }),
      new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error(`no ${what} within ${timeoutMs} ms; events: ${JSON.stringify(this.events.map(e => [e.nodeId, e.state]))}`)) }, timeoutMs).unref())
    ])
  }
}

const stateOf = (events: WatchPeersResponse[], nodeId: string): ConnectionState | undefined => events.filter(e => e.nodeId === nodeId).at(-1)?.state

describe('TransportService WatchPeers', () => {
  const daemons: Daemon[] = []
  const watches: Watch[] = []
  afterEach(async () => {
    for (const w of watches) w.abort.abort()
    await Promise.all(watches.map(async w => await w.done))
    watches.length = 0
    await Promise.all(daemons.map(async d => { await d.stop() }))
    daemons.length = 0
  })

  async function start (nodeId: string): Promise<Daemon> {
    const d = await startTestDaemon(nodeId, { reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 200 })
    daemons.push(d)
    return d
  }

  it('sends every member\'s state first, then each change: open, unreachable (with the error) when the peer stops, closed when removed', async () => {
    const a = await start('a')
    const b = await start('b')
    const membership = { nodes: [{ id: 'a', address: a.info.listen[0] }, { id: 'b', address: b.info.listen[0] }] }
    await createMirnetClient(a.info.api).connect(membership)
    const w = new Watch(a)
    watches.push(w)
    // the snapshot: the own node, and b (still dialing or already open)
    await w.until('the snapshot', e => e.length >= 2)
    expect(w.events.slice(0, 2).map(e => e.nodeId).sort()).toEqual(['a', 'b'])
    expect(stateOf(w.events, 'a')).toBe(ConnectionState.LOCAL)
    await w.until('b open', e => stateOf(e, 'b') === ConnectionState.OPEN)

    // b goes away: a hears of it without asking
    const bListen = b.info.listen[0]
    await b.stop()
    daemons.splice(daemons.indexOf(b), 1)
    await w.until('b unreachable', e => {
      const s = stateOf(e, 'b')
      return s === ConnectionState.CONNECTING || s === ConnectionState.BACKOFF
    })
    const unreachable = w.events.filter(e => e.nodeId === 'b').at(-1)
    expect(unreachable?.lastError).not.toBe('')

    // removed from the membership: CLOSED
    await createMirnetClient(a.info.api).connect({ nodes: [{ id: 'a', address: a.info.listen[0] }] })
    await w.until('b closed', e => stateOf(e, 'b') === ConnectionState.CLOSED)
    expect(bListen).toMatch(/\/p2p\//)
  })

  it('ends cleanly when the daemon stops', async () => {
    const a = await start('a')
    const w = new Watch(a)
    await w.until('the snapshot', e => e.length >= 1)
    await a.stop()
    daemons.length = 0
    // the stream ended without an error
    expect(await w.done).toBeUndefined()
  })
})
