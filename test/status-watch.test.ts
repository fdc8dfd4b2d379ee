import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import { describe, expect, it } from '@jest/globals'
import { create } from '@bufbuild/protobuf'
import { ConnectionState, GetStatusResponseSchema } from '../gen/ts/mirnet/v1/transport_pb.ts'
import { ApiAuthenticationError, ApiUnreachableError } from '../src/cli/api-errors.ts'
import { FRAME_SEPARATOR } from '../src/cli/screen.ts'
import { watchStatus } from '../src/cli/status.ts'
import type { FrameOutput, Sampler } from '../src/cli/status.ts'

/** A stdout stand-in: what was written, chunk by chunk; `written(n)` resolves once n chunks are there. */
class FakeOutput extends EventEmitter implements FrameOutput {
  readonly chunks: string[] = []
  readonly #waiters: Array<{ n: number, resolve: () => void }> = []

  readonly isTTY: boolean
  readonly columns = 200
  readonly rows = 60

  constructor (isTTY: boolean) {
    super()
    this.isTTY = isTTY
  }

  write (text: string): boolean {
    this.chunks.push(text)
    for (const w of this.#waiters.filter(w => this.chunks.length >= w.n)) w.resolve()
    return true
  }

  async written (n: number): Promise<void> {
    if (this.chunks.length >= n) return
    await new Promise<void>(resolve => { this.#waiters.push({ n, resolve }) })
  }
}

/** Samples of a daemon whose member b has sent 100 more messages at each call; `failures` are thrown first, one per call. */
function sampler (failures: Error[] = []): Sampler {
  let sent = 0n
  return async () => {
    const failure = failures.shift()
    if (failure !== undefined) throw failure
    sent += 100n
    const status = create(GetStatusResponseSchema, {
      nodeId: 'a',
      peerId: 'PA',
      peers: [{ nodeId: 'b', state: ConnectionState.OPEN, sentMessages: sent, lanes: [{ lane: 'votes', sentMessages: sent }] }],
      totals: { connected: 2 }
    })
    return { status, atMs: performance.now() }
  }
}

const UNREACHABLE = 'cannot reach the mirnet API at x:1: connection refused'

describe('mirnet status --watch', () => {
  it('on a terminal, redraws each frame in place with the rates since the one before, and shows the cursor again when stopped', async () => {
    const out = new FakeOutput(true)
    const stop = new AbortController()
    const watching = watchStatus({ api: 'x:1', intervalMs: 100, json: false, sample: sampler(), out, signal: stop.signal })
    await out.written(3)
    stop.abort()
    await watching
    const [first, second, ...rest] = out.chunks
    expect(first.startsWith('\x1b[?25l\x1b[2J\x1b[Hmirnet status of a at x:1, ')).toBe(true)
    expect(first).toContain('rates need two samples')
    expect(second.startsWith('\x1b[Hmirnet status of a at x:1, ')).toBe(true)
    expect(second).toMatch(/rates over 0\.\d s/)
    expect(second.endsWith('\x1b[J')).toBe(true)
    // every line erased to its end: nothing of a longer earlier frame stays
    for (const line of second.split('\n')) expect(line).toMatch(/\x1b\[K(\x1b\[J)?$/)
    expect(rest.at(-1)).toBe('\x1b[?25h\n')
  })

  it('elsewhere, writes frames one after the other, a separator line between them', async () => {
    const out = new FakeOutput(false)
    const stop = new AbortController()
    const watching = watchStatus({ api: 'x:1', intervalMs: 100, json: false, sample: sampler(), out, signal: stop.signal })
    await out.written(2)
    stop.abort()
    await watching
    const text = out.chunks.join('')
    expect(text).not.toContain('\x1b[')
    const frames = text.split(`${FRAME_SEPARATOR}\n`)
    expect(frames.length).toBe(out.chunks.length)
    for (const f of frames) expect(f).toMatch(/^mirnet status of a at x:1, /)
  })

  it('says the daemon cannot be reached while it cannot, and shows it again with rates from the second answer', async () => {
    const out = new FakeOutput(false)
    const stop = new AbortController()
    const watching = watchStatus({ api: 'x:1', intervalMs: 100, json: false, sample: sampler([new ApiUnreachableError(UNREACHABLE)]), out, signal: stop.signal })
    await out.written(3)
    stop.abort()
    await watching
    expect(out.chunks[0].split('\n').slice(0, 3)).toEqual([expect.stringMatching(/^mirnet status at x:1, .* UTC: no answer$/), UNREACHABLE, '(trying again every 0.1 s; Ctrl-C stops)'])
    expect(out.chunks[1]).toContain('rates need two samples')
    expect(out.chunks[2]).toMatch(/rates over 0\.\d s/)
  })

  it('with --json, writes one line of JSON per refresh', async () => {
    const out = new FakeOutput(true)
    const stop = new AbortController()
    const watching = watchStatus({ api: 'x:1', intervalMs: 100, json: true, sample: sampler(), out, signal: stop.signal })
    await out.written(2)
    stop.abort()
    await watching
    // no screen control on a terminal either
    expect(out.chunks.map(c => (JSON.parse(c) as { peers: Array<{ sentMessages: string }> }).peers[0].sentMessages).slice(0, 2)).toEqual(['100', '200'])
    for (const c of out.chunks) expect(c.endsWith('}\n')).toBe(true)
  })

  it('ends with the error when the daemon refuses the call, leaving the terminal with its cursor', async () => {
    const out = new FakeOutput(true)
    const refused = new ApiAuthenticationError('the mirnet API at x:1 refused GetStatus: invalid bearer token')
    const failures = [new ApiUnreachableError(UNREACHABLE), refused]
    await expect(watchStatus({ api: 'x:1', intervalMs: 100, json: false, sample: sampler(failures), out, signal: new AbortController().signal })).rejects.toBe(refused)
    expect(out.chunks).toHaveLength(2)
    expect(out.chunks[1]).toBe('\x1b[?25h\n')
  })

  it('stops when the reader of its output goes away (EPIPE)', async () => {
    const out = new FakeOutput(false)
    const watching = watchStatus({ api: 'x:1', intervalMs: 100, json: false, sample: sampler(), out, signal: new AbortController().signal })
    await out.written(1)
    out.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
    await watching
    expect(out.listenerCount('error')).toBe(0)
  })
})
