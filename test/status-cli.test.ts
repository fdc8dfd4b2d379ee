import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { createMirnetClient, receiveMessages } from '../src/client/client.ts'
import { Daemon } from '../src/daemon/daemon.ts'
import { silentLogger } from '../src/core/logger.ts'
import { generateKey, peerIdOf } from '../src/transports/libp2p/keys.ts'
import { FRAME_SEPARATOR } from '../src/cli/screen.ts'
import { makeTestPki } from './helpers/certs.ts'
import { startTestDaemon } from './helpers/daemons.ts'
import { Scratch, freePort, mirnet, stop } from './helpers/processes.ts'
import { eventually, peer } from './helpers/wait.ts'
import type { ChildProcess } from 'node:child_process'
import type { MirnetClient } from '../src/client/client.ts'

const bytes = (n: number): Uint8Array => new Uint8Array(n).fill(7)

/** A child's stdout as it arrives; `until` resolves when it satisfies a condition, on the data event that made it so. */
class Output {
  text = ''
  readonly #waiters = new Set<() => void>()
  #stderr = ''

  constructor (child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => {
      this.text += d.toString()
      for (const w of this.#waiters) w()
    })
    child.stderr?.on('data', (d: Buffer) => { this.#stderr += d.toString() })
  }

  async until<T> (what: string, check: (text: string) => T | undefined, timeoutMs = 30_000): Promise<T> {
    return await new Promise<T>((resolve, reject) => {
      const attempt = (): void => {
        const value = check(this.text)
        if (value === undefined) return
        this.#waiters.delete(attempt)
        clearTimeout(timer)
        resolve(value)
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(attempt)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stdout: ${this.text.slice(-2000)}; stderr: ${this.#stderr}`))
      }, timeoutMs)
      this.#waiters.add(attempt)
      attempt()
    })
  }
}

/** The complete frames of non-terminal `--watch` output (the last one only once the next has begun or the output ended). */
function frames (text: string, ended = false): string[][] {
  const parts = text.split(`${FRAME_SEPARATOR}\n`)
  const complete = ended ? parts : parts.slice(0, -1)
  return complete.map(p => p.replace(/\n$/, '').split('\n'))
}

/** Cells of a table row by column title, from the header's positions (right-aligned columns end where their title ends). */
function cells (header: string, row: string): Record<string, string> {
  const out: Record<string, string> = {}
  const left = new Set(['MEMBER', 'STATE', 'IN', 'LANE', 'TENTATIVE PEER'])
  for (const m of header.matchAll(/\S+(?: BYTES| PEER)?/g)) {
    const title = m[0]
    const start = m.index
    if (left.has(title)) {
      out[title] = row.slice(start).split(' ')[0]
    } else {
      const end = start + title.length
      const padded = row.padEnd(end)
      out[title] = padded.slice(padded.lastIndexOf(' ', end - 1) + 1, end)
    }
  }
  return out
}

/** The member table of a frame: rows keyed by `member/lane`. */
function memberTable (frame: string[]): Map<string, Record<string, string>> {
  const at = frame.findIndex(l => l.startsWith('MEMBER '))
  if (at < 0) throw new Error(`no member table in:\n${frame.join('\n')}`)
  const header = frame[at]
  const rows = new Map<string, Record<string, string>>()
  let member = ''
  for (const line of frame.slice(at + 1)) {
    if (line === '') break
    const row = cells(header, line)
    if (row.MEMBER !== '') member = row.MEMBER
    rows.set(`${member}/${row.LANE}`, row)
  }
  return rows
}

describe('mirnet status', () => {
  let scratch: Scratch
  beforeEach(() => { scratch = new Scratch() })
  afterEach(async () => { await scratch.cleanup() })

  describe('against a running daemon with members, traffic and a tentative peer', () => {
    // a: members a, b and c (c never comes up); b: members a and b; t: members a and t, so a holds t's messages as a tentative peer's
    let a: Daemon, b: Daemon, t: Daemon
    let ca: MirnetClient
    // b's consumer: it reads everything, so b keeps giving a credit; a reads nothing (its inbox holds what b sent)
    const consumer = new AbortController()
    let consuming: Promise<void> | undefined
    beforeAll(async () => {
      [a, b, t] = await Promise.all([startTestDaemon('a', { reconnectMaxDelayMs: 500 }), startTestDaemon('b'), startTestDaemon('t')])
      const down = `/ip4/127.0.0.1/tcp/${await freePort()}/p2p/${peerIdOf(await generateKey())}`
      const node = (id: string, d: Daemon): { id: string, address: string } => ({ id, address: d.info.listen[0] })
      ca = createMirnetClient(a.info.api)
      const cb = createMirnetClient(b.info.api)
      const ct = createMirnetClient(t.info.api)
      await ca.connect({ nodes: [node('a', a), node('b', b), { id: 'c', address: down }] })
      await cb.connect({ nodes: [node('a', a), node('b', b)] })
      await ct.connect({ nodes: [node('a', a), node('t', t)] })
      consuming = (async () => {
        for await (const _ of receiveMessages(cb, { signal: consumer.signal }));
      })().catch((err: unknown) => { if (!consumer.signal.aborted) throw err })
      await ca.awaitConnections({ minConnected: 2 }, { timeoutMs: 20_000 })
      await cb.awaitConnections({ minConnected: 2 }, { timeoutMs: 20_000 })
      await ca.send({ messages: Array.from({ length: 30 }, () => ({ destinations: ['b'], payload: bytes(100) })) })
      await ca.send({ messages: Array.from({ length: 12 }, () => ({ destinations: ['b'], payload: bytes(10), lane: 'bulk' })) })
      await cb.send({ messages: Array.from({ length: 5 }, () => ({ destinations: ['a'], payload: bytes(10) })) })
      await ct.send({ messages: Array.from({ length: 4 }, () => ({ destinations: ['a'], payload: bytes(10) })) })
      await eventually('b to acknowledge a\'s 42 messages', () => peer(a.net, 'b')?.acknowledgedMessages === 42, 20_000)
      await eventually('a to receive b\'s 5 messages', () => peer(a.net, 'b')?.receivedMessages === 5, 20_000)
      await eventually('a to hold t\'s 4 messages', () => a.net.stats().tentative[0]?.heldMessages === 4, 20_000)
      await eventually('a\'s dial of c to fail', () => peer(a.net, 'c')?.lastError !== undefined, 20_000)
    })
    afterAll(async () => {
      consumer.abort()
      await consuming
      await Promise.all([a, b, t].map(async d => { await d?.stop() }))
    })

    it('prints members with state, per-lane counters, the inbox, the last errors and the tentative peer', async () => {
      const res = await mirnet(['status', '--api', a.info.api, '--interval', '200ms'])
      expect(res.stderr).toBe('')
      expect(res.code).toBe(0)
      const frame = res.stdout.replace(/\n$/, '').split('\n')
      expect(frame[0]).toMatch(new RegExp(`^mirnet status of a at ${a.info.api}, \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC, rates over 0\\.\\d s$`))
      expect(frame[1]).toBe(`peer ${a.net.identity}, members 3, connected 2, inbox 5, receive streams 0`)
      const table = memberTable(frame)
      expect([...table.keys()]).toEqual(['a/all', 'a/control', 'a/consensus', 'a/bulk', 'b/all', 'b/control', 'b/consensus', 'b/bulk', 'c/all', 'c/control', 'c/consensus', 'c/bulk'])
      expect(table.get('a/all')).toMatchObject({ STATE: 'local', IN: '-' })
      expect(table.get('b/all')).toMatchObject({ STATE: 'open', IN: 'yes', QUEUED: '0', UNACKED: '0', SENT: '42', ACKED: '42', DROPPED: '0', RECEIVED: '5', RECONN: '0' })
      // nothing moved between the two samples
      expect(table.get('b/all')).toMatchObject({ 'SENT/S': '0', 'ACKED/S': '0', 'DROP/S': '0', 'RECV/S': '0' })
      expect(table.get('b/consensus')).toMatchObject({ SENT: '30', ACKED: '30', RECEIVED: '5' })
      expect(table.get('b/bulk')).toMatchObject({ SENT: '12', ACKED: '12', RECEIVED: '0' })
      expect(['connecting', 'backoff']).toContain(table.get('c/all')?.STATE)
      expect(table.get('c/all')).toMatchObject({ IN: 'no', SENT: '0' })
      const errors = frame.indexOf('last errors:')
      expect(frame[errors + 1]).toMatch(/^ {2}c {2}\S/)
      const tentative = frame.findIndex(l => l.startsWith('TENTATIVE PEER'))
      expect(cells(frame[tentative], frame[tentative + 1])).toMatchObject({ 'TENTATIVE PEER': t.net.identity, HELD: '4', 'HELD BYTES': '40', DROPPED: '0', RECEIVED: '4' })
    })

    it('--json prints the GetStatus response as one line of JSON', async () => {
      const res = await mirnet(['status', '--api', a.info.api, '--json'])
      expect(res.code).toBe(0)
      expect(res.stdout.split('\n')).toHaveLength(2)
      const json = JSON.parse(res.stdout) as {
        nodeId: string
        peerId: string
        peers: Array<{ nodeId: string, state: string, sentMessages: string, acknowledgedMessages: string, droppedMessages: string, lanes: Array<{ lane: string, sentMessages: string }> }>
        tentative: Array<{ peerId: string, heldMessages: string }>
        totals: { inboxMessages: string, connected: number }
      }
      expect(json.nodeId).toBe('a')
      expect(json.peerId).toBe(a.net.identity)
      const b = json.peers.find(p => p.nodeId === 'b')
      expect(b).toMatchObject({ state: 'CONNECTION_STATE_OPEN', sentMessages: '42', acknowledgedMessages: '42', droppedMessages: '0' })
      expect(b?.lanes.map(l => [l.lane, l.sentMessages])).toEqual([['control', '0'], ['consensus', '30'], ['bulk', '12']])
      expect(json.tentative).toEqual([expect.objectContaining({ peerId: t.net.identity, heldMessages: '4' })])
      expect(json.totals).toMatchObject({ inboxMessages: '5', connected: 2 })
    })

    it('--watch refreshes with the rates of the traffic in between, until SIGINT', async () => {
      const child = scratch.spawn(['status', '--watch', '--interval', '200ms', '--api', a.info.api])
      const out = new Output(child)
      const sentToB = (frame: string[]): number => Number(memberTable(frame).get('b/all')?.SENT)
      await out.until('a first frame', text => frames(text)[0])
      await ca.send({ messages: Array.from({ length: 50 }, () => ({ destinations: ['b'], payload: bytes(100) })) })
      // the refresh that saw the 50 new messages shows them as a rate
      const moved = await out.until('a frame after the traffic', text => frames(text).find(f => sentToB(f) === 92))
      const before = frames(out.text).filter(f => sentToB(f) === 42).at(-1)
      expect(before).toBeDefined()
      const firstWith92 = frames(out.text).find(f => sentToB(f) === 92)!
      expect(Number(memberTable(firstWith92).get('b/all')?.['SENT/S'])).toBeGreaterThan(0)
      expect(moved[0]).toMatch(/^mirnet status of a at .*, rates over \d+\.\d s$/)
      expect(await stop(child, 'SIGINT')).toBe(0)
      const all = frames(out.text, true)
      expect(all.length).toBeGreaterThanOrEqual(3)
      for (const f of all) {
        expect(f[0]).toMatch(/^mirnet status of a at /)
        expect(f.at(-1)).toMatch(/^\(evicted so far: 0\)$/)
      }
      // the first frame has no earlier sample, the later ones have rates
      expect(all[0][0]).toContain('rates need two samples')
      expect(all[1][0]).toContain('rates over')
    })

    it('--watch --json prints one line per refresh, until SIGTERM', async () => {
      const child = scratch.spawn(['status', '--watch', '--json', '--interval', '100ms', '--api', a.info.api])
      const out = new Output(child)
      const lines = await out.until('two JSON lines', text => {
        const complete = text.split('\n').slice(0, -1)
        return complete.length >= 2 ? complete : undefined
      })
      for (const line of lines) expect((JSON.parse(line) as { nodeId: string }).nodeId).toBe('a')
      expect(await stop(child, 'SIGTERM')).toBe(0)
      expect(out.text.endsWith('\n')).toBe(true)
    })
  })

  describe('credentials and failures', () => {
    it('calls a daemon that needs a token and TLS with client certificates, and says what is wrong when one is missing or wrong', async () => {
      const pki = await makeTestPki()
      const token = 'status-test-token-0123456789'
      const d = await Daemon.start({
        nodeId: 'secure',
        privateKey: await generateKey(),
        listen: ['/ip4/127.0.0.1/tcp/0'],
        apiHost: '127.0.0.1',
        apiPort: 0,
        apiToken: token,
        apiTls: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert },
        logger: silentLogger
      })
      try {
        const dir = await scratch.dir()
        const file = async (name: string, content: string): Promise<string> => {
          const path = join(dir, name)
          await writeFile(path, content, { mode: 0o600 })
          return path
        }
        const tokenFile = await file('api.token', token + '\n')
        const wrongToken = await file('wrong.token', 'not-the-token')
        const ca = await file('ca.pem', pki.ca.cert)
        const clientCert = await file('client.pem', pki.client.cert)
        const clientKey = await file('client.key', pki.client.key)
        const api = ['status', '--json', '--api', d.info.api]
        const tls = ['--api-tls-ca', ca, '--api-tls-client-cert', clientCert, '--api-tls-client-key', clientKey]

        const readableToken = await file('readable.token', token)
        await chmod(readableToken, 0o644)
        // independent runs, at once
        const [ok, fromEnv, noClientCert, noToken, wrong, untrusted, plain, readable] = await Promise.all([
          mirnet([...api, '--api-token-file', tokenFile, ...tls]),
          // the same from the environment
          mirnet(['status', '--json'], {
            MIRNET_API: d.info.api,
            MIRNET_API_TOKEN_FILE: tokenFile,
            MIRNET_API_TLS_CA: ca,
            MIRNET_API_TLS_CLIENT_CERT: clientCert,
            MIRNET_API_TLS_CLIENT_KEY: clientKey
          }),
          mirnet([...api, '--api-token-file', tokenFile, '--api-tls-ca', ca]),
          mirnet([...api, ...tls]),
          mirnet([...api, ...tls, '--api-token-file', wrongToken]),
          mirnet(['status', '--json', '--api', `https://${d.info.api}`, '--api-token-file', tokenFile]),
          mirnet([...api, '--api-token-file', tokenFile]),
          mirnet([...api, '--api-token-file', readableToken, ...tls])
        ])
        expect(ok.stderr).toBe('')
        expect((JSON.parse(ok.stdout) as { nodeId: string }).nodeId).toBe('secure')
        expect(fromEnv.stderr).toBe('')
        expect((JSON.parse(fromEnv.stdout) as { nodeId: string }).nodeId).toBe('secure')

        expect(noClientCert.code).toBe(1)
        expect(noClientCert.stderr).toBe(`mirnet: TLS to the mirnet API at ${d.info.api} failed: tlsv13 alert certificate required; the daemon asks for a client certificate: give --api-tls-client-cert and --api-tls-client-key\n`)

        expect(noToken.code).toBe(1)
        expect(noToken.stderr).toBe(`mirnet: the mirnet API at ${d.info.api} refused GetStatus: missing bearer token: calls to mirnet.v1.TransportService need the header "authorization: Bearer <token>", with the token of the daemon's --api-token-file; give the daemon's token with --api-token-file (or MIRNET_API_TOKEN_FILE)\n`)

        expect(wrong.code).toBe(1)
        expect(wrong.stderr).toContain(`mirnet: the mirnet API at ${d.info.api} refused GetStatus: invalid bearer token`)

        expect(untrusted.code).toBe(1)
        expect(untrusted.stderr).toMatch(new RegExp(`^mirnet: TLS to the mirnet API at https://${d.info.api} failed: (self-signed certificate in certificate chain|unable to verify the first certificate).*; give the CA certificate that signed the daemon's certificate with --api-tls-ca\n$`))

        expect(plain.code).toBe(1)
        expect(plain.stderr).toContain(`mirnet: the mirnet API at ${d.info.api} closed the call`)
        expect(plain.stderr).toContain('if it serves TLS, call it with https:// or --api-tls-ca')

        expect(readable.code).toBe(1)
        expect(readable.stderr).toContain(`mirnet: API token file ${readableToken} has mode 644; it must not be accessible by group or others`)
      } finally {
        await d.stop()
      }
    })

    it('reports a daemon that cannot be reached; --watch says so at each refresh and keeps trying', async () => {
      const api = `127.0.0.1:${await freePort()}`
      const once = await mirnet(['status', '--api', api])
      expect(once.code).toBe(1)
      expect(once.stdout).toBe('')
      expect(once.stderr).toBe(`mirnet: cannot reach the mirnet API at ${api}: connection refused; is \`mirnet serve\` running there? (--api or MIRNET_API names the address)\n`)

      const child = scratch.spawn(['status', '--watch', '--interval', '100ms', '--api', api])
      const out = new Output(child)
      const two = await out.until('two refreshes', text => frames(text).length >= 2 ? frames(text) : undefined)
      for (const f of two) {
        expect(f).toEqual([
          expect.stringMatching(new RegExp(`^mirnet status at ${api}, .* UTC: no answer$`)),
          `cannot reach the mirnet API at ${api}: connection refused; is \`mirnet serve\` running there? (--api or MIRNET_API names the address)`,
          '(trying again every 0.1 s; Ctrl-C stops)'
        ])
      }
      expect(await stop(child, 'SIGINT')).toBe(0)
    })

    it('refuses an --interval below 100ms and TLS options with an http:// address', async () => {
      const fast = await mirnet(['status', '--interval', '10ms'])
      expect(fast.code).toBe(1)
      expect(fast.stderr).toContain('option \'--interval <duration>\' argument \'10ms\' is invalid. expected at least 100ms, got "10ms"')
      const mixed = await mirnet(['status', '--api', 'http://127.0.0.1:1', '--api-tls-ca', '/nonexistent'])
      expect(mixed.code).toBe(1)
      expect(mixed.stderr).toBe('mirnet: --api http://127.0.0.1:1 says http://, but TLS options are given: use https:// or a plain HOST:PORT\n')
    })
  })

  it('--help explains every column and the options', async () => {
    const res = await mirnet(['status', '--help'])
    expect(res.code).toBe(0)
    for (const column of ['MEMBER', 'STATE', 'IN', 'LANE', 'QUEUED', 'UNACKED', 'SENT', 'ACKED', 'DROPPED', 'RECEIVED', 'RECONN', 'HELD', 'HELD BYTES']) {
      expect(res.stdout).toMatch(new RegExp(`\\b${column}\\b`))
    }
    expect(res.stdout).toContain('A column ending in /S is the rate per second')
    for (const option of ['--watch', '--interval <duration>', '--json', '--api <address>', '--api-token-file <file>', '--api-tls-ca <file>', '--api-tls-client-cert <file>', 'MIRNET_API_TOKEN_FILE']) {
      expect(res.stdout).toContain(option)
    }
  })
})
