/**
 * The Go client: the committed stubs of gen/go with Debian's grpc-go 1.33 and
 * protobuf-go, built in GOPATH mode (test/helpers/go.ts), against real
 * in-process daemons.
 *
 * - test/go/client-check calls every RPC and checks answers and error codes,
 *   a token and TLS included; it prints `ok <check>` per check.
 * - examples/go-client, the program docs/clients.md shows, exchanges a hello
 *   between two daemons.
 *
 * Needs Go (Debian: golang-go golang-google-grpc-dev golang-google-protobuf-dev
 * golang-github-golang-protobuf-1-5-dev; .ci/run installs them). Without them
 * the tests fail and say so: there is no skipping.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../src/core/logger.ts'
import { Daemon } from '../src/daemon/daemon.ts'
import { generateKey } from '../src/transports/libp2p/keys.ts'
import { makeTestPki } from './helpers/certs.ts'
import { startTestDaemon } from './helpers/daemons.ts'
import { REPO, REPO_IMPORT, goBuild, goInstalled } from './helpers/go.ts'

const INSTALL = 'apt-get install golang-go golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev'
/** A file of golang/protobuf 1.4+ (the APIv2 wrapper); 1.3 has no registry.go. */
const GOLANG_PROTOBUF_1_5 = '/usr/share/gocode/src/github.com/golang/protobuf/proto/registry.go'

/** Why the Go client cannot be built here, or undefined when it can. */
function goUnavailable (): string | undefined {
  if (!goInstalled()) return `Go is not installed (/usr/bin/go): ${INSTALL}`
  if (!existsSync('/usr/share/gocode/src/google.golang.org/grpc/clientconn.go')) return `grpc-go is not in /usr/share/gocode: ${INSTALL}`
  if (!existsSync(GOLANG_PROTOBUF_1_5)) {
    return `github.com/golang/protobuf in /usr/share/gocode is not 1.4+ (grpc-go 1.33 would build and panic on the first call): apt-get install golang-github-golang-protobuf-1-5-dev`
  }
  return undefined
}

/** The checks client-check runs, in order; each must print `ok <check>`. */
const CHECKS = [
  'GetInfo a',
  'GetInfo b',
  'Connect a',
  'Connect b',
  'Connect again changes nothing',
  'Connect with a bad address: INVALID_ARGUMENT',
  'AwaitConnections 2',
  'AwaitConnections 0: INVALID_ARGUMENT',
  'AwaitConnections 3 of 2 members: DEADLINE_EXCEEDED',
  'Send on lane control',
  'Send on the default lane',
  'Send to an unknown destination: NOT_FOUND',
  'Send without destinations: INVALID_ARGUMENT',
  'Send on an unknown lane: INVALID_ARGUMENT',
  'SendStream',
  'SendStream to an unknown destination: NOT_FOUND, earlier requests queued',
  'Receive only lane control',
  'Receive every lane',
  'Receive on an unknown lane: INVALID_ARGUMENT',
  'GetStatus a',
  'GetStatus b',
  'Pull with nothing waiting: empty after wait_ms',
  'Pull only lane control, waiting for it',
  'Pull max_messages 1, then the next',
  'Pull on an unknown lane: INVALID_ARGUMENT',
  "WatchPeers: every member's state first",
  'grpc.health.v1 Check',
  'TLS with an unknown CA: UNAVAILABLE',
  'TLS without a client certificate: UNAVAILABLE',
  'TLS: health without a token',
  'TLS: no token: UNAUTHENTICATED',
  'TLS: wrong token: UNAUTHENTICATED',
  'TLS: no token on a stream: UNAUTHENTICATED',
  'TLS: no token on Pull: UNAUTHENTICATED',
  'TLS: with the token'
]

interface GoRun { code: number | null, stdout: string, stderr: string }

/** Runs a built Go program; never rejects: the exit code is part of the result. */
async function runGo (binary: string, args: string[]): Promise<GoRun> {
  return await new Promise(resolve => {
    execFile(binary, args, { timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
      resolve({ code, stdout, stderr })
    })
  })
}

const show = (r: GoRun): string => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`

describe('Go client', () => {
  let bin = ''
  const daemons: Daemon[] = []

  beforeAll(async () => {
    const reason = goUnavailable()
    if (reason !== undefined) throw new Error(`test/go-client.test.ts needs Go: ${reason}`)
    bin = await mkdtemp(join(tmpdir(), 'mirnet-go-bin-'))
    // one after the other: the second reuses the first's cached gRPC packages
    await goBuild({ main: `${REPO_IMPORT}/test/go/client-check`, out: join(bin, 'client-check') })
    await goBuild({ main: `${REPO_IMPORT}/examples/go-client`, out: join(bin, 'go-client') })
  }, 240_000)

  afterEach(async () => {
    await Promise.all(daemons.map(async d => { await d.stop() }))
    daemons.length = 0
  })

  afterAll(async () => {
    if (bin !== '') await rm(bin, { recursive: true, force: true })
  })

  async function daemon (nodeId: string): Promise<Daemon> {
    const d = await startTestDaemon(nodeId)
    daemons.push(d)
    return d
  }

  describe('test/go/client-check', () => {
    let dir = ''
    afterEach(async () => { if (dir !== '') await rm(dir, { recursive: true, force: true }) })

    it('calls every RPC and gets the answers and error codes the proto specifies, with a token and over mutual TLS', async () => {
      dir = await mkdtemp(join(tmpdir(), 'mirnet-go-'))
      const pki = await makeTestPki()
      const token = 'go-client-token-1'
      await writeFile(join(dir, 'ca.pem'), pki.ca.cert)
      await writeFile(join(dir, 'client.pem'), pki.client.cert)
      await writeFile(join(dir, 'client.key'), pki.client.key, { mode: 0o600 })
      await writeFile(join(dir, 'api.token'), `${token}\n`, { mode: 0o600 })
      const [a, b, secure] = await Promise.all([
        daemon('a'),
        daemon('b'),
        Daemon.start({
          nodeId: 's',
          privateKey: await generateKey(),
          listen: ['/ip4/127.0.0.1/tcp/0'],
          apiHost: '127.0.0.1',
          apiPort: 0,
          apiToken: token,
          apiTls: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert },
          logger: silentLogger
        }).then(d => { daemons.push(d); return d })
      ])

      const run = await runGo(join(bin, 'client-check'), [
        '-a', a.info.api, '-b', b.info.api,
        '-secure', secure.info.api, '-ca', join(dir, 'ca.pem'),
        '-cert', join(dir, 'client.pem'), '-key', join(dir, 'client.key'), '-token', join(dir, 'api.token')
      ])
      expect({ code: run.code, out: show(run) }).toMatchObject({ code: 0 })
      const passed = run.stdout.trimEnd().split('\n').map(line => line.replace(/^ok /, '').replace(/ -- .*$/, ''))
      expect(passed).toEqual(CHECKS)
      expect(run.stdout).toContain('ok Receive only lane control -- a/control: vote 1\n')
      expect(run.stdout).toContain('ok Pull max_messages 1, then the next -- a/consensus: block 2, a/consensus: block 3\n')
      expect(run.stdout).toContain('ok TLS: with the token -- node s, received s/control: to myself\n')
    }, 90_000)
  })

  describe('examples/go-client', () => {
    it('joins two daemons and each prints the hello the other sent on the control lane', async () => {
      const [a, b] = await Promise.all([daemon('a'), daemon('b')])
      const [runA, runB] = await Promise.all([
        runGo(join(bin, 'go-client'), ['-api', a.info.api, `b=${b.info.listen[0]}`]),
        runGo(join(bin, 'go-client'), ['-api', b.info.api, `a=${a.info.listen[0]}`])
      ])
      expect({ code: runA.code, out: show(runA) }).toMatchObject({ code: 0 })
      expect({ code: runB.code, out: show(runB) }).toMatchObject({ code: 0 })
      expect(runA.stdout).toBe('b [control]: hello from b\n')
      expect(runB.stdout).toBe('a [control]: hello from a\n')
    }, 60_000)

    it('is the program docs/clients.md shows', async () => {
      const doc = await readFile(join(REPO, 'docs/clients.md'), 'utf8')
      const source = await readFile(join(REPO, 'examples/go-client/main.go'), 'utf8')
      const blocks = [...doc.matchAll(/```go\n([\s\S]*?)```/g)].map(m => m[1])
      expect(blocks).toContain(source)
    })
  })
})
