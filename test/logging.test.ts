import { afterEach, describe, expect, it } from '@jest/globals'
import { createMirnetClient, receiveMessages } from '../src/client/client.ts'
import { createLogger } from '../src/cli/logger.ts'
import { grpcJsClient, startTestDaemon } from './helpers/daemons.ts'
import { eventually, peer } from './helpers/wait.ts'
import type { Daemon } from '../src/daemon/daemon.ts'
import type { DestinationStream } from 'pino'

/** The lines a logger wrote, kept in memory. */
class Lines implements DestinationStream {
  readonly all: string[] = []
  write (chunk: string): void {
    for (const line of chunk.split('\n')) if (line !== '') this.all.push(line)
  }

  parsed (): Array<Record<string, unknown>> {
    return this.all.map(l => JSON.parse(l) as Record<string, unknown>)
  }
}

const COMPONENTS = ['daemon', 'network', 'dispatcher', 'receiver', 'tentative', 'api', 'transport', 'metrics']

/** How often `"key":` starts a field of the line's top-level object (pino repeats re-bound keys). */
function occurrences (line: string, key: string): number {
  return line.split(`,"${key}":`).length - 1 + (line.startsWith(`{"${key}":`) ? 1 : 0)
}

describe('Logs', () => {
  const daemons: Daemon[] = []
  afterEach(async () => {
    await Promise.all(daemons.map(async d => { await d.stop() }))
    daemons.length = 0
  })

  async function pair (level: string, lines: Lines, connectB = true): Promise<{ a: Daemon, b: Daemon }> {
    const a = await startTestDaemon('a', {}, { logger: createLogger(level, { nodeId: 'a' }, lines) })
    const b = await startTestDaemon('b', {}, { logger: createLogger(level, { nodeId: 'b' }, lines) })
    daemons.push(a, b)
    const nodes = [{ id: 'a', address: a.info.listen[0] }, { id: 'b', address: b.info.listen[0] }]
    a.net.connect(nodes)
    if (connectB) {
      b.net.connect(nodes)
      await a.net.waitFor(2, { signal: AbortSignal.timeout(20_000) })
      await b.net.waitFor(2, { signal: AbortSignal.timeout(20_000) })
    }
    return { a, b }
  }

  it('writes no line per message or per call at the default level (info)', async () => {
    const lines = new Lines()
    const { a, b } = await pair('info', lines)
    const before = lines.all.length
    expect(before).toBeGreaterThan(0)

    const MESSAGES = 3000
    const grpc = grpcJsClient(a.info.api)
    const client = createMirnetClient(a.info.api)
    // b reads while a sends: a lane nobody reads gives its senders little credit, and a's queue would drop
    const received = (async () => {
      let got = 0
      for await (const _ of receiveMessages(createMirnetClient(b.info.api), { timeoutMs: 30_000 })) {
        if (++got === MESSAGES) break
      }
      return got
    })()
    try {
      for (let call = 0; call < MESSAGES / 100; call++) {
        const request = { messages: Array.from({ length: 100 }, (_, i) => ({ destinations: ['b', 'a'], payload: new TextEncoder().encode(`${call}:${i}`) })) }
        // both RPC paths: the gRPC fast path, and connect-node
        if (call % 2 === 0) {
          await new Promise<void>((resolve, reject) => { grpc.send(request, (err: Error | null) => { if (err === null) resolve(); else reject(err) }) })
        } else {
          await client.send(request)
        }
        await client.getStatus({})
      }
      expect(await received).toBe(MESSAGES)
      await eventually('a to take its own messages', () => peer(a.net, 'a')?.sentMessages === MESSAGES)
    } finally {
      grpc.close()
    }
    expect(lines.all.slice(before)).toEqual([])
  })

  it('scopes every line by component, lines about a peer by peer, and repeats no key', async () => {
    const lines = new Lines()
    // b does not list a yet: a's stream is tentative until b's membership names it
    const { a, b } = await pair('debug', lines, false)
    a.net.sendTo('b', new TextEncoder().encode('early'))
    await eventually('b to hold a tentative message', () => b.net.stats().tentative[0]?.heldMessages === 1)
    b.net.connect([{ id: 'a', address: a.info.listen[0] }, { id: 'b', address: b.info.listen[0] }])
    await b.net.waitFor(2, { signal: AbortSignal.timeout(20_000) })
    await a.stop()
    await b.stop()

    for (const line of lines.all) {
      for (const key of ['component', 'peer', 'identity', 'nodeId', 'pid']) expect({ line, n: occurrences(line, key) <= 1 }).toEqual({ line, n: true })
    }
    const parsed = lines.parsed()
    for (const l of parsed) {
      expect(COMPONENTS).toContain(l.component)
      expect(['a', 'b']).toContain(l.nodeId)
      if (l.component === 'dispatcher' || l.component === 'receiver') expect(typeof l.peer).toBe('string')
      if (l.component === 'receiver' || (l.component === 'tentative' && l.msg !== 'evicting the oldest tentative receiver')) expect(typeof l.identity).toBe('string')
    }
    const seen = new Set(parsed.map(l => l.component))
    for (const c of ['daemon', 'network', 'dispatcher', 'receiver']) expect(seen).toContain(c)
    expect(parsed.find(l => l.msg === 'tentative receiver promoted')).toMatchObject({ component: 'receiver', nodeId: 'b', peer: 'a', identity: a.net.identity, heldMessages: 1 })
    expect(parsed.find(l => l.component === 'dispatcher' && l.msg === 'connected' && l.nodeId === 'a')).toMatchObject({ peer: 'b' })
  })
})
