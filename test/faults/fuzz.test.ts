import { afterAll, beforeAll, describe, expect } from '@jest/globals'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import { setTimeout as delay } from 'node:timers/promises'
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { createMirnetClient, receiveMessages } from '../../src/client/client.ts'
import { generateKey, peerIdOf } from '../../src/transports/libp2p/keys.ts'
import { firstLine, freePort, Scratch } from '../helpers/processes.ts'
import { mulberry32, rawCase } from './fuzz-cases.ts'
import { HostilePeer, rssBytes } from './hostile-process.ts'
import { report, scale } from './scale.ts'
import { eventually } from '../helpers/wait.ts'
import { transportsOf, itOn, memberAddress, quickOn } from './transports.ts'
import type { ChildProcess } from 'node:child_process'
import type { DaemonTransport } from '../../src/daemon/daemon.ts'
import type { MirnetClient } from '../../src/client/client.ts'
import type { Ready } from '../helpers/processes.ts'

/**
 * Fault scenario 5, fuzzing: malformed streams on authenticated `/mirnet/3.0.0`
 * streams (from a member and from a non-member): hellos (version 1 ones
 * among them), frame lengths, tags (lanes, kinds), chunked messages out of
 * order, over the maximum, not adding up to their total, or cut off; and raw
 * bytes on the libp2p TCP port before Noise, against a daemon started
 * through the CLI, while a member keeps sending to it. Only the stream or
 * connection at fault closes.
 *
 * On TLS and gRPC the same cases go on channels of the daemon's own
 * transport (hostile-tls-peer.ts): one TLS connection, or one gRPC call on
 * its own connection, per case, authenticated as a member or not; mirnet's
 * framing is then directly on TLS (or in gRPC messages), with no multiplexer
 * of its own to catch anything first. The raw cases go to the TLS port
 * before any handshake.
 */

/** The transports besides libp2p the representative case runs on under npm test (the quick form; see transports.ts). */
const QUICK_ALSO: DaemonTransport[] = ['tls', 'grpc']

const MAX_FRAME_BYTES = 64 * 1024
const MEMBER_CASES = scale(400, 4_000)
/** Member cases on TLS and gRPC in the quick form: one connection and handshake per case makes them slower than libp2p's streams. */
const OTHER_TRANSPORT_QUICK_MEMBER_CASES = 150
const NON_MEMBER_CASES = scale(300, 3_000)
const RAW_CASES = scale(300, 3_000)
/** Raw connections at once. */
const RAW_CONCURRENCY = 8
/** Raw connections started per second: libp2p refuses more than 256 per second from one host, unread. */
const RAW_PER_SECOND = 200
const SEED = Number(process.env.MIRNET_FUZZ_SEED ?? 20240611)

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)

interface FuzzDone {
  cases: number
  clean: number
  reset: number
  timeout: number
  mismatched: number
  connectionsLost: number
  bytes: number
  validMessages: number
  mismatches: unknown[]
  ms: number
  /** TLS and gRPC: the invalid cases, and those whose reset fz saw as a clean end (TLS). */
  invalid?: number
  resetSeenAsEnd?: number
}

describe.each(transportsOf(QUICK_ALSO))('fault scenario 5: fuzzed frames, over %s', (transport: DaemonTransport) => {
  const memberCases = quickOn(transport, MEMBER_CASES, OTHER_TRANSPORT_QUICK_MEMBER_CASES)
  const scratch = new Scratch()
  const peers: HostilePeer[] = []
  let target: ChildProcess
  let d: Ready
  let m: Ready
  let cd: MirnetClient
  let cm: MirnetClient
  let fuzzKeyHex: string
  let fuzzPeerId: string
  /** What D's Receive stream got, by sender. */
  const received = new Map<string, string[]>()
  const receiving = new AbortController()
  let consumer: Promise<void>
  let memberSent = 0
  /** Channels of fz that d refused, by its log (TLS and gRPC). */
  let fzRefusals = 0
  const started = Date.now()

  beforeAll(async () => {
    const dir = await scratch.dir()
    const serve = (id: string, extra: string[] = []): ChildProcess => scratch.spawn(['serve', '--node-id', id, '--state-dir', dir, '--api', '127.0.0.1:0', '--log-level', 'error', '--transport', transport, ...extra])
    // a credit of the whole window from the start: a case's validity must not depend on how far the pace ramped up;
    // on TLS and gRPC its log (warn: a member's refused channels) tells its verdicts
    target = serve('d', ['--max-frame-bytes', String(MAX_FRAME_BYTES), '--inbox-min-credit', '4096', ...(transport === 'libp2p' ? [] : ['--log-level', 'warn'])])
    createInterface({ input: target.stderr as NodeJS.ReadableStream }).on('line', line => { if (line.includes('"peer":"fz"') && line.includes('closing inbound stream')) fzRefusals++ })
    const member = serve('m')
    ;[d, m] = await Promise.all([firstLine<Ready>(target), firstLine<Ready>(member)])
    cd = createMirnetClient(d.api)
    cm = createMirnetClient(m.api)
    const key = await generateKey()
    fuzzKeyHex = Buffer.from(privateKeyToProtobuf(key)).toString('hex')
    fuzzPeerId = peerIdOf(key)
    // fz is a member of d that only ever dials in; nothing listens at its address
    const nodes = [
      { id: 'd', address: d.listen[0] },
      { id: 'm', address: m.listen[0] },
      { id: 'fz', address: memberAddress(transport, '127.0.0.1', await freePort(), fuzzPeerId) }
    ]
    await cd.connect({ nodes })
    await cm.connect({ nodes: nodes.slice(0, 2) })
    await cm.awaitConnections({ minConnected: 2 }, { timeoutMs: 20_000 })
    consumer = (async () => {
      try {
        for await (const msg of receiveMessages(cd, { signal: receiving.signal })) {
          let list = received.get(msg.from)
          if (list === undefined) received.set(msg.from, list = [])
          // fuzz payloads are only counted; member payloads are checked
          list.push(msg.from === 'm' ? str(msg.payload) : '')
        }
      } catch (err) {
        if (!receiving.signal.aborted) throw err
      }
    })()
  }, 60_000)

  /**
   * Nothing lost besides the channels at fault: over libp2p the one
   * connection that carries every stream survives every case; on TLS and gRPC
   * each case has its own connection, and every dial of one succeeds.
   */
  const LOST_NONE = transport === 'libp2p' ? { connectionsLost: 0 } : { dialFailures: 0 }

  afterAll(async () => {
    receiving.abort()
    await consumer
    await Promise.all(peers.map(async p => { await p.stop() }))
    await scratch.cleanup()
  })

  /** m sends numbered messages to d until `done` settles. */
  async function memberTraffic (done: Promise<unknown>): Promise<void> {
    let finished = false
    void done.finally(() => { finished = true })
    while (!finished) {
      const batch = Array.from({ length: 10 }, (_, i) => ({ destinations: ['d'], payload: text(`m:${memberSent + i}`) }))
      await cm.send({ messages: batch })
      memberSent += batch.length
      await delay(10)
    }
  }

  async function expectMemberUnaffected (): Promise<void> {
    await eventually('every message of the member delivered', () => received.get('m') ?? [], got => got.length >= memberSent, 30_000)
    expect(received.get('m')).toEqual(Array.from({ length: memberSent }, (_, i) => `m:${i}`))
    expect(target.exitCode).toBeNull()
    const status = await cd.getStatus({})
    expect(status.peers.find(p => p.nodeId === 'm')?.inboundOpen).toBe(true)
  }

  async function fuzzOverStream (as: 'member' | 'non-member', cases: number): Promise<FuzzDone> {
    const task = {
      task: 'fuzz' as const,
      target: d.listen[0],
      count: cases,
      seed: SEED + (as === 'member' ? 1 : 2),
      maxFrameBytes: MAX_FRAME_BYTES,
      keyHex: as === 'member' ? fuzzKeyHex : undefined,
      caseTimeoutMs: 15_000
    }
    const peer = new HostilePeer(transport === 'libp2p' ? task : { ...task, transport, resetMayLookClean: transport === 'tls' })
    peers.push(peer)
    const done = peer.next('done', 150_000)
    await memberTraffic(done)
    const { event: _, ...result } = (await done) as unknown as FuzzDone & { event: string }
    await peer.stop()
    return result
  }

  itOn(transport, QUICK_ALSO)(`resets exactly the invalid ${transport === 'libp2p' ? 'streams' : 'channels'} of a member (${memberCases} cases), ${transport === 'libp2p' ? 'keeps its connection, ' : ''}delivers its valid frames`, async () => {
    const rssBefore = await rssBytes(target.pid as number)
    const refusalsBefore = fzRefusals
    const result = await fuzzOverStream('member', memberCases)
    expect(result.mismatches).toEqual([])
    expect(result).toMatchObject({ cases: memberCases, mismatched: 0, timeout: 0, ...LOST_NONE })
    expect(result.clean).toBeGreaterThan(0)
    expect(result.reset).toBeGreaterThan(0)
    if (transport !== 'libp2p') {
      // d refused exactly the invalid channels: every one it reset, and on TLS those whose reset reached fz as an end
      expect(result.reset + (result.resetSeenAsEnd ?? 0)).toBe(result.invalid)
      await eventually('d to log every refusal', () => fzRefusals - refusalsBefore, n => n >= (result.invalid ?? 0), { timeoutMs: 10_000 })
      expect(fzRefusals - refusalsBefore).toBe(result.invalid)
    }
    // every message of a valid case is delivered as from fz (messages before the fault of an invalid one may be too)
    await eventually('every message of the valid cases delivered as from fz', () => received.get('fz')?.length ?? 0, n => n >= result.validMessages, 30_000)
    await expectMemberUnaffected()
    report(`5-fuzz-member-stream (${transport})`, { ...result, mismatches: undefined, fromFz: received.get('fz')?.length ?? 0, memberMessages: memberSent, rssBeforeMiB: mib(rssBefore), rssAfterMiB: mib(await rssBytes(target.pid as number)) })
  }, 200_000)

  itOn(transport)(`resets exactly the invalid ${transport === 'libp2p' ? 'streams' : 'channels'} of a non-member and delivers nothing of it`, async () => {
    const deliveredBefore = (await cd.getStatus({})).totals?.deliveredMessages ?? 0n
    const memberBefore = memberSent
    const result = await fuzzOverStream('non-member', NON_MEMBER_CASES)
    expect(result.mismatches).toEqual([])
    expect(result).toMatchObject({ cases: NON_MEMBER_CASES, mismatched: 0, timeout: 0, ...LOST_NONE })
    await expectMemberUnaffected()
    const status = await cd.getStatus({})
    // only m's messages were delivered meanwhile: the non-member's frames stay tentative
    expect((status.totals?.deliveredMessages ?? 0n) - deliveredBefore).toBe(BigInt(memberSent - memberBefore))
    expect(status.tentative.length).toBeLessThanOrEqual(16)
    report(`5-fuzz-non-member-stream (${transport})`, { ...result, mismatches: undefined, memberMessages: memberSent - memberBefore, rssMiB: mib(await rssBytes(target.pid as number)) })
  }, 200_000)

  itOn(transport)(`closes raw TCP connections carrying garbage before ${transport === 'libp2p' ? 'Noise' : 'the TLS handshake'}`, async () => {
    const port = Number(/\/tcp\/(\d+)\//.exec(d.listen[0])?.[1])
    const random = mulberry32(SEED + 3)
    const cases = Array.from({ length: RAW_CASES }, () => rawCase(random))
    const byKind: Record<string, number> = {}
    let closedByDaemon = 0
    let timedOut = 0
    let maxCloseMs = 0
    let next = 0
    const memberBefore = memberSent
    const t0 = Date.now()
    const run = async (): Promise<void> => {
      while (next < cases.length) {
        const i = next++
        const c = cases[i]
        // paced, so that each connection is read rather than refused by the rate limit
        const wait = t0 + i * 1000 / RAW_PER_SECOND - Date.now()
        if (wait > 0) await delay(wait)
        byKind[c.kind] = (byKind[c.kind] ?? 0) + 1
        const begun = Date.now()
        const outcome = await rawConnection(port, c.bytes, 15_000)
        maxCloseMs = Math.max(maxCloseMs, Date.now() - begun)
        if (outcome === 'closed') closedByDaemon++
        else timedOut++
      }
    }
    const all = Promise.all(Array.from({ length: RAW_CONCURRENCY }, run))
    await memberTraffic(all)
    await all
    expect({ closedByDaemon, timedOut }).toEqual({ closedByDaemon: RAW_CASES, timedOut: 0 })
    await expectMemberUnaffected()
    report(`5-fuzz-raw-tcp (${transport})`, { cases: RAW_CASES, closedByDaemon, timedOut, maxCloseMs, byKind, memberMessages: memberSent - memberBefore, ms: Date.now() - t0, rssMiB: mib(await rssBytes(target.pid as number)), totalMs: Date.now() - started })
  }, 200_000)
})

function mib (bytes: number): number {
  return Math.round(bytes / 1024 / 102.4) / 10
}

/**
 * Connect, write `bytes`, half-close, and wait for the daemon to close the
 * connection: 'closed', or 'timeout' if it is still open after `timeoutMs`.
 */
async function rawConnection (port: number, bytes: Uint8Array, timeoutMs: number): Promise<'closed' | 'timeout'> {
  return await new Promise(resolve => {
    const socket = connect({ host: '127.0.0.1', port })
    const timer = setTimeout(() => {
      socket.destroy()
      resolve('timeout')
    }, timeoutMs)
    // a reset by the daemon is a close as well
    socket.on('error', () => {})
    socket.once('close', () => {
      clearTimeout(timer)
      resolve('closed')
    })
    socket.once('connect', () => {
      socket.end(bytes)
    })
    // whatever the daemon answers (multistream, Noise) is read and dropped
    socket.resume()
  })
}
