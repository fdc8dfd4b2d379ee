import { describe, expect, it } from '@jest/globals'
import { create } from '@bufbuild/protobuf'
import { Code, ConnectError } from '@connectrpc/connect'
import { ConnectionState, GetStatusResponseSchema } from '../gen/ts/mirnet/v1/transport_pb.ts'
import { formatRate, ratePerSecond, renderStatus, renderUnavailable } from '../src/cli/status-table.ts'
import { appendedFrame, FRAME_SEPARATOR, fitToScreen, terminalEnd, terminalFrame } from '../src/cli/screen.ts'
import { apiAddress } from '../src/cli/api-client-options.ts'
import { ApiAuthenticationError, ApiCallError, ApiTlsError, ApiUnreachableError, describeApiFailure } from '../src/cli/api-errors.ts'
import { durationMs } from '../src/cli/options.ts'
import { statusJsonLine } from '../src/cli/status.ts'
import type { GetStatusResponse, LaneStatus, LaneStatusSchema } from '../gen/ts/mirnet/v1/transport_pb.ts'
import type { MessageInitShape } from '@bufbuild/protobuf'
import type { StatusSample } from '../src/cli/status-table.ts'

type LaneInit = Partial<Pick<LaneStatus, 'queuedMessages' | 'unconfirmedMessages' | 'sentMessages' | 'acknowledgedMessages' | 'droppedMessages' | 'receivedMessages'>>

function lane (name: string, n: LaneInit = {}): MessageInitShape<typeof LaneStatusSchema> {
  return { lane: name, ...n }
}

/** A status of daemon `a` (peer `PA`) with members a (local) and b; b's counters from `b`, its lanes from `lanes`. */
function statusOf (b: LaneInit & { reconnects?: bigint, lastError?: string, inboundOpen?: boolean }, lanes: Record<string, LaneInit>, extra: { delivered?: bigint, tentativeReceived?: bigint, peerId?: string } = {}): GetStatusResponse {
  return create(GetStatusResponseSchema, {
    nodeId: 'a',
    peerId: extra.peerId ?? 'PA',
    peers: [
      // out of order: the table sorts by node id
      { nodeId: 'b', state: ConnectionState.OPEN, inboundOpen: b.inboundOpen ?? true, ...b, lanes: Object.entries(lanes).map(([name, n]) => lane(name, n)) },
      { nodeId: 'a', state: ConnectionState.LOCAL, lanes: [lane('votes'), lane('blocks')] }
    ],
    tentative: extra.tentativeReceived === undefined ? [] : [{ peerId: 'PT', heldMessages: 3n, heldBytes: 30n, droppedMessages: 1n, receivedMessages: extra.tentativeReceived }],
    totals: { connected: 2, inboxMessages: 7n, receiveStreams: 1, deliveredMessages: extra.delivered ?? 0n, lostInFlightMessages: 2n, discardedMessages: 0n, abandonedMessages: 0n }
  })
}

const sample = (status: GetStatusResponse, atMs: number): StatusSample => ({ status, atMs })
const TIME = new Date('2026-12-01T23:50:01.250Z')

/** The cell of `row` under the column titled `title` of `header` (right-aligned columns end where their title ends). */
function cell (header: string, row: string, title: string, align: 'left' | 'right' = 'right'): string {
  const m = new RegExp(`(?:^|\\s)(${title.replace('/', '\\/')})(?=\\s|$)`).exec(header)
  if (m === null) throw new Error(`no column ${title} in: ${header}`)
  const start = m.index + m[0].length - title.length
  if (align === 'left') return row.slice(start).split(' ')[0]
  const end = start + title.length
  // nothing may stick out to the right of a right-aligned column
  if (row.length > end && row[end] !== ' ') throw new Error(`column ${title} is not aligned in: ${row}`)
  const padded = row.padEnd(end)
  return padded.slice(padded.lastIndexOf(' ', end - 1) + 1, end)
}

describe('mirnet status without a daemon', () => {
  describe('ratePerSecond', () => {
    it('is the growth per second between two samples', () => {
      expect(ratePerSecond(1300n, 1000n, 2000)).toBe(150)
      expect(ratePerSecond(1000n, 1000n, 500)).toBe(0)
    })

    it('counts a counter that went back from zero, as a restart reset it', () => {
      expect(ratePerSecond(40n, 1000n, 1000)).toBe(40)
    })

    it('is unknown without a previous sample or elapsed time', () => {
      expect(ratePerSecond(5n, undefined, 1000)).toBeUndefined()
      expect(ratePerSecond(5n, 1n, undefined)).toBeUndefined()
      expect(ratePerSecond(5n, 1n, 0)).toBeUndefined()
    })

    it('formats as -, 0, one decimal, or whole numbers from 1000/s', () => {
      expect([undefined, 0, 0.25, 12.345, 999.94, 1234.5].map(formatRate)).toEqual(['-', '0', '0.3', '12.3', '999.9', '1235'])
    })
  })

  describe('renderStatus', () => {
    const before = statusOf({ sentMessages: 1000n, acknowledgedMessages: 990n, droppedMessages: 4n, receivedMessages: 10n, queuedMessages: 5n, unconfirmedMessages: 10n }, {
      votes: { sentMessages: 600n, acknowledgedMessages: 600n, receivedMessages: 10n },
      blocks: { sentMessages: 400n, acknowledgedMessages: 390n, droppedMessages: 4n, queuedMessages: 5n, unconfirmedMessages: 10n }
    }, { delivered: 100n, tentativeReceived: 20n })
    const after = statusOf({ sentMessages: 1300n, acknowledgedMessages: 1290n, droppedMessages: 8n, receivedMessages: 30n, queuedMessages: 2n, unconfirmedMessages: 10n, reconnects: 1n, lastError: 'dial failed: connection refused' }, {
      votes: { sentMessages: 800n, acknowledgedMessages: 800n, receivedMessages: 30n },
      blocks: { sentMessages: 500n, acknowledgedMessages: 490n, droppedMessages: 8n, queuedMessages: 2n, unconfirmedMessages: 10n }
    }, { delivered: 160n, tentativeReceived: 26n })
    const lines = renderStatus({ api: '127.0.0.1:7070', previous: sample(before, 10_000), current: sample(after, 12_000), time: TIME })
    const header = lines.find(l => l.startsWith('MEMBER'))!
    const rowsFrom = lines.indexOf(header) + 1

    it('heads the frame with the daemon, the address, the time, the interval and the totals', () => {
      expect(lines[0]).toBe('mirnet status of a at 127.0.0.1:7070, 2026-12-01 23:50:01 UTC, rates over 2.0 s')
      expect(lines[1]).toBe('peer PA, members 2, connected 2, inbox 7, receive streams 1')
      expect(lines[2]).toBe('delivered 160 (30.0/s), lost in flight 2, discarded 0, abandoned 0')
    })

    it('has a row per member, sorted by node id, then a row per lane, in aligned columns', () => {
      const rows = lines.slice(rowsFrom, rowsFrom + 6)
      expect(rows.map(r => [cell(header, r, 'MEMBER', 'left'), cell(header, r, 'STATE', 'left'), cell(header, r, 'IN', 'left'), cell(header, r, 'LANE', 'left')])).toEqual([
        ['a', 'local', '-', 'all'],
        ['', '', '', 'votes'],
        ['', '', '', 'blocks'],
        ['b', 'open', 'yes', 'all'],
        ['', '', '', 'votes'],
        ['', '', '', 'blocks']
      ])
      expect(lines[rowsFrom + 6]).toBe('')
    })

    it('shows the counters and their rates per second over the time between the samples', () => {
      const [b, votes, blocks] = lines.slice(rowsFrom + 3, rowsFrom + 6)
      const titles = ['QUEUED', 'UNACKED', 'SENT', 'SENT/S', 'ACKED', 'ACKED/S', 'DROPPED', 'DROP/S', 'RECEIVED', 'RECV/S', 'RECONN']
      const cells = (row: string): string[] => titles.map(t => cell(header, row, t))
      expect(cells(b)).toEqual(['2', '10', '1300', '150.0', '1290', '150.0', '8', '2.0', '30', '10.0', '1'])
      expect(cells(votes)).toEqual(['0', '0', '800', '100.0', '800', '100.0', '0', '0', '30', '10.0', ''])
      expect(cells(blocks)).toEqual(['2', '10', '500', '50.0', '490', '50.0', '8', '2.0', '0', '0', ''])
    })

    it('lists the members\' last errors below the table, and the tentative peers with their rate', () => {
      const at = lines.indexOf('last errors:')
      expect(lines.slice(at, at + 3)).toEqual(['last errors:', '  b  dial failed: connection refused', ''])
      const tentativeHeader = lines[at + 3]
      expect(tentativeHeader).toMatch(/^TENTATIVE PEER\s+HELD\s+HELD BYTES\s+DROPPED\s+RECEIVED\s+RECV\/S$/)
      const row = lines[at + 4]
      expect(['HELD', 'HELD BYTES', 'DROPPED', 'RECEIVED', 'RECV/S'].map(t => cell(tentativeHeader, row, t))).toEqual(['3', '30', '1', '26', '3.0'])
      expect(row.startsWith('PT ')).toBe(true)
    })

    it('shows - for every rate of a first sample', () => {
      const first = renderStatus({ api: 'x:1', current: sample(after, 0), time: TIME })
      expect(first[0]).toContain('rates need two samples')
      expect(first[2]).toContain('delivered 160 (-/s)')
      const h = first.find(l => l.startsWith('MEMBER'))!
      for (const row of first.slice(first.indexOf(h) + 1, first.indexOf(h) + 7)) {
        expect(['SENT/S', 'ACKED/S', 'DROP/S', 'RECV/S'].map(t => cell(h, row, t))).toEqual(['-', '-', '-', '-'])
      }
    })

    it('gives no rates from a sample of another daemon (the address answers for a new peer id)', () => {
      const other = statusOf({ sentMessages: 1n }, {}, { peerId: 'PX' })
      const view = renderStatus({ api: 'x:1', previous: sample(other, 0), current: sample(after, 1000), time: TIME })
      expect(view[0]).toContain('rates need two samples')
      const h = view.find(l => l.startsWith('MEMBER'))!
      expect(cell(h, view[view.indexOf(h) + 4], 'SENT/S')).toBe('-')
    })

    it('reads a counter that went back (the member was removed and added again) from zero', () => {
      const view = renderStatus({ api: 'x:1', previous: sample(after, 0), current: sample(before, 1000), time: TIME })
      const h = view.find(l => l.startsWith('MEMBER'))!
      // b's sent went from 1300 back to 1000: 1000 in one second
      expect(cell(h, view[view.indexOf(h) + 4], 'SENT/S')).toBe('1000')
    })

    it('says so when there are no tentative peers and no errors', () => {
      const quiet = renderStatus({ api: 'x:1', current: sample(statusOf({}, {}), 0), time: TIME })
      expect(quiet).not.toContain('last errors:')
      expect(quiet.at(-1)).toBe('tentative peers: none (evicted so far: 0)')
    })

    it('says why a refresh has no status', () => {
      expect(renderUnavailable('x:1', TIME, 'cannot reach the mirnet API at x:1: connection refused', 1500)).toEqual([
        'mirnet status at x:1, 2026-12-01 23:50:01 UTC: no answer',
        'cannot reach the mirnet API at x:1: connection refused',
        '(trying again every 1.5 s; Ctrl-C stops)'
      ])
    })
  })

  describe('--json', () => {
    it('is one line of proto3 JSON with every field, zeros included', () => {
      const line = statusJsonLine(statusOf({ sentMessages: 3n }, { votes: {} }))
      expect(line.endsWith('}\n')).toBe(true)
      expect(line.indexOf('\n')).toBe(line.length - 1)
      const json = JSON.parse(line) as { peers: Array<{ nodeId: string, state: string, sentMessages: string, droppedMessages: string, lanes: Array<{ lane: string, sentMessages: string }> }> }
      expect(json.peers[0]).toMatchObject({ nodeId: 'b', state: 'CONNECTION_STATE_OPEN', sentMessages: '3', droppedMessages: '0' })
      expect(json.peers[0].lanes).toEqual([expect.objectContaining({ lane: 'votes', sentMessages: '0' })])
    })
  })

  describe('screen', () => {
    it('cuts lines to the width and the height of the terminal, saying how many are hidden', () => {
      expect(fitToScreen(['abcdefghij', 'abc'], { columns: 8, rows: 10 })).toEqual(['abcdef…', 'abc'])
      expect(fitToScreen(['1', '2', '3', '4', '5'], { columns: 80, rows: 4 })).toEqual(['1', '2', '… 3 more lines: enlarge the terminal'])
    })

    it('redraws a terminal in place: the first frame clears the screen, each frame starts home and erases what it does not cover', () => {
      const first = terminalFrame(['a', 'b'], { columns: 80, rows: 24 }, true)
      expect(first).toBe('\x1b[?25l\x1b[2J\x1b[H' + 'a\x1b[K\nb\x1b[K' + '\x1b[J')
      expect(terminalFrame(['c'], { columns: 80, rows: 24 }, false)).toBe('\x1b[H' + 'c\x1b[K' + '\x1b[J')
      expect(terminalEnd()).toBe('\x1b[?25h\n')
    })

    it('separates frames written to a file or pipe by a line', () => {
      expect(appendedFrame(['a', 'b'], true) + appendedFrame(['c'], false)).toBe(`a\nb\n${FRAME_SEPARATOR}\nc\n`)
    })
  })

  describe('options', () => {
    it('reads durations in ms, s (also bare) and m', () => {
      expect(['500ms', '1s', '1.5s', '2', '2m'].map(durationMs)).toEqual([500, 1000, 1500, 2000, 120_000])
      expect(() => durationMs('soon')).toThrow('expected a duration such as 500ms, 1s or 2m, got "soon"')
    })

    it('reads --api as HOST:PORT or a URL', () => {
      expect(['127.0.0.1:7070', '[::1]:7070', 'http://h:1', 'https://daemon.example:7070/'].map(apiAddress)).toEqual(['127.0.0.1:7070', '[::1]:7070', 'http://h:1', 'https://daemon.example:7070'])
      expect(() => apiAddress('localhost')).toThrow('expected HOST:PORT or http(s)://HOST:PORT, got "localhost"')
      expect(() => apiAddress('ftp://h:1')).toThrow('expected HOST:PORT')
    })
  })

  describe('describeApiFailure', () => {
    const ctx = { address: '127.0.0.1:7070', method: 'GetStatus', tls: false, timeoutMs: 5000 }
    const failure = (message: string, code: Code, causeCode?: string): ConnectError =>
      new ConnectError(message, code, undefined, undefined, causeCode === undefined ? undefined : Object.assign(new Error(message), { code: causeCode }))

    it.each([
      [failure('connect ECONNREFUSED 127.0.0.1:7070', Code.Unavailable, 'ECONNREFUSED'), ApiUnreachableError, 'cannot reach the mirnet API at 127.0.0.1:7070: connection refused; is `mirnet serve` running there?'],
      [failure('getaddrinfo ENOTFOUND nowhere', Code.Unavailable, 'ENOTFOUND'), ApiUnreachableError, 'cannot reach the mirnet API at 127.0.0.1:7070: host not found (getaddrinfo ENOTFOUND nowhere)'],
      [failure('deadline', Code.DeadlineExceeded), ApiUnreachableError, 'the mirnet API at 127.0.0.1:7070 did not answer GetStatus within 5 s'],
      [failure('invalid bearer token for mirnet.v1.TransportService', Code.Unauthenticated), ApiAuthenticationError, 'the mirnet API at 127.0.0.1:7070 refused GetStatus: invalid bearer token for mirnet.v1.TransportService; give the daemon\'s token with --api-token-file'],
      [failure('self-signed certificate in certificate chain', Code.Internal, 'SELF_SIGNED_CERT_IN_CHAIN'), ApiTlsError, 'TLS to the mirnet API at 127.0.0.1:7070 failed: self-signed certificate in certificate chain; give the CA certificate that signed the daemon\'s certificate with --api-tls-ca'],
      [failure('40BD:error:0A00010B:SSL routines:tls_validate_record_header:wrong version number:../deps/x.c:77:\n', Code.Internal, 'ERR_SSL_WRONG_VERSION_NUMBER'), ApiTlsError, 'TLS to the mirnet API at 127.0.0.1:7070 failed: wrong version number; the daemon does not serve TLS there'],
      [failure('http/2 stream closed with error code CANCEL (0x8)', Code.Canceled), ApiUnreachableError, 'the mirnet API at 127.0.0.1:7070 closed the call (http/2 stream closed with error code CANCEL (0x8)); if it serves TLS, call it with https:// or --api-tls-ca'],
      [failure('the daemon is shutting down', Code.FailedPrecondition), ApiCallError, 'GetStatus on the mirnet API at 127.0.0.1:7070 failed: [FailedPrecondition] the daemon is shutting down']
    ])('maps %s', (err, type, message) => {
      const mapped = describeApiFailure(err, ctx)
      expect(mapped).toBeInstanceOf(type)
      expect(mapped.message).toContain(message)
    })

    it('passes other errors through', () => {
      const err = new RangeError('x')
      expect(describeApiFailure(err, ctx)).toBe(err)
    })
  })
})
