import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fromJson } from '@bufbuild/protobuf'
import { Option } from 'commander'
import { ConnectRequestSchema } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import { resolveConfig } from '../core/config.ts'
import { assignListenAddresses } from '../daemon/listen-addresses.ts'
import { readApiTlsFiles, readApiTokenFile } from '../service/api-credentials.ts'
import { generateKey, readKeyFile, writeKeyFile } from '../transports/libp2p/keys.ts'
import { createLogger, LOG_LEVELS } from './logger.ts'
import { addTunables, hostPort, list, tunablesFrom } from './options.ts'
import { transportOption } from './transport-option.ts'
import type { Command } from 'commander'
import type { PrivateKey } from '@libp2p/interface'
import type { MemberSpec } from '../core/membership.ts'
import type { Logger } from '../core/logger.ts'
import type { ApiTlsOptions } from '../service/api-server.ts'
import type { DaemonTransport } from '../daemon/transport-names.ts'

/** A file given to `serve` that cannot be used. */
export class ServeInputError extends Error {
  override name = 'ServeInputError'
}

interface ServeOptions {
  nodeId: string
  keyFile?: string
  stateDir: string
  allowInsecureKeyFile?: boolean
  transport: DaemonTransport[]
  listen?: string[]
  api: { host: string, port: number }
  metrics?: { host: string, port: number }
  apiTokenFile?: string
  allowInsecureApiTokenFile?: boolean
  apiTlsCert?: string
  apiTlsKey?: string
  apiTlsClientCa?: string
  allowInsecureApiTlsKey?: boolean
  membership?: string
  logLevel: string
  [tunable: string]: unknown
}

export function serveCommand (program: Command): void {
  const command = program.command('serve')
    .description('run a mirnet daemon: libp2p (or TLS, --transport tls, or gRPC, --transport grpc, or several at once) to the other members, the API (gRPC, Connect, gRPC-Web) for the consensus node')
    .addOption(new Option('--node-id <id>', 'this node\'s id in the membership').env('MIRNET_NODE_ID').default('node-0'))
    .addOption(new Option('--key-file <file>', 'libp2p private key (see `mirnet keygen`); default: <state-dir>/<node-id>.key, created on first run').env('MIRNET_KEY_FILE'))
    .addOption(new Option('--state-dir <dir>', 'where the default key file lives').env('MIRNET_STATE_DIR').default('.mirnet'))
    .addOption(new Option('--allow-insecure-key-file', 'accept a key file that group or others can read').env('MIRNET_ALLOW_INSECURE_KEY_FILE'))
    .addOption(transportOption('transport(s) to the other members: libp2p (TCP + Noise + Yamux, addresses /ip4/…/tcp/…/p2p/<peer id>), tls (TCP + TLS 1.3, addresses /ip4/…/tcp/…/tls/p2p/<peer id>) or grpc (gRPC on HTTP/2 + TLS 1.3, addresses /ip4/…/tcp/…/tls/http/p2p/<peer id>); several (repeat or comma-separate, e.g. libp2p,tls) run at once with the same key, and each member is dialed over the transport its address names, so a membership can mix them'))
    .addOption(new Option('--listen <multiaddr>', 'listen address; each goes to the transport of its form (/tcp/N libp2p, /tcp/N/tls TLS, /tcp/N/tls/http gRPC), and a transport given none listens on loopback, a free port (/ip4/127.0.0.1/tcp/0, /ip4/127.0.0.1/tcp/0/tls, /ip4/127.0.0.1/tcp/0/tls/http); repeat or comma-separate for several').env('MIRNET_LISTEN').argParser(list))
    .addOption(new Option('--api <host:port>', 'where the API listens').env('MIRNET_API').default(hostPort('127.0.0.1:7070'), '127.0.0.1:7070').argParser(hostPort))
    .addOption(new Option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (counters only, so any address is allowed); off unless given').env('MIRNET_METRICS').argParser(hostPort))
    .addOption(new Option('--api-token-file <file>', 'require "authorization: Bearer <token>" on every API call (except grpc.health.v1.Health), the token being this file\'s content (mode 0600)').env('MIRNET_API_TOKEN_FILE'))
    .addOption(new Option('--allow-insecure-api-token-file', 'accept an API token file that group or others can read').env('MIRNET_ALLOW_INSECURE_API_TOKEN_FILE'))
    .addOption(new Option('--api-tls-cert <file>', 'serve the API over TLS with this PEM certificate chain (needs --api-tls-key)').env('MIRNET_API_TLS_CERT'))
    .addOption(new Option('--api-tls-key <file>', 'PEM private key of --api-tls-cert (mode 0600)').env('MIRNET_API_TLS_KEY'))
    .addOption(new Option('--api-tls-client-ca <file>', 'require API clients to present a certificate signed by these PEM CA certificates').env('MIRNET_API_TLS_CLIENT_CA'))
    .addOption(new Option('--allow-insecure-api-tls-key', 'accept an API TLS key file that group or others can read').env('MIRNET_ALLOW_INSECURE_API_TLS_KEY'))
    .addOption(new Option('--membership <file>', 'membership applied at start: JSON of ConnectRequest, {"nodes":[{"id":"a","address":"/ip4/…/p2p/…"}]}').env('MIRNET_MEMBERSHIP'))
    .addOption(new Option('--log-level <level>', 'log level').env('MIRNET_LOG_LEVEL').choices(LOG_LEVELS).default('info'))
  addTunables(command)
  command.addHelpText('after', `
The API listens on loopback unless --api says otherwise; on any other address
it needs a bearer token (--api-token-file), TLS (--api-tls-cert and
--api-tls-key, optionally --api-tls-client-ca), or both. With a token, every
call needs it except those to grpc.health.v1.Health, which stays open for
Kubernetes gRPC probes (they cannot send headers); server reflection needs it
too (buf curl -H 'Authorization: Bearer <token>').

With several transports (--transport libp2p,tls) the daemon accepts on all of
them and dials each member over the transport its address names; a member can
be reached only over a transport both ends run, so a cluster moves from one
transport to another member by member (docs/transports.md).

On start it prints one JSON line on stdout, "listen" holding every
transport's addresses in the order of --transport:
  {"event":"ready","nodeId":…,"peerId":…,"listen":[…],"api":"HOST:PORT"[,"metrics":"HOST:PORT"],"pid":…}
Logs go to stderr as JSON, one line per event (never per message at info). SIGTERM or SIGINT stops it gracefully (exit 0); more of them while it stops are ignored.
Started by npm (npm start, npm run mirnet, npx mirnet), it also stops when the process that started it is gone.
Every option can also be given as the MIRNET_* environment variable shown.`)
  command.action(async (opts: ServeOptions) => { await serve(opts) })
}

async function loadKey (opts: ServeOptions, log: Logger): Promise<PrivateKey> {
  if (opts.keyFile !== undefined) {
    return await readKeyFile(opts.keyFile, { allowInsecurePermissions: opts.allowInsecureKeyFile === true })
  }
  const path = join(opts.stateDir, `${opts.nodeId}.key`)
  try {
    return await readKeyFile(path, { allowInsecurePermissions: opts.allowInsecureKeyFile === true })
  } catch (err) {
    if ((err as Error).message.includes('ENOENT') !== true) throw err
  }
  await mkdir(opts.stateDir, { recursive: true, mode: 0o700 })
  const key = await generateKey()
  await writeKeyFile(path, key)
  log.info({ keyFile: path }, 'created a new key')
  return key
}

async function loadTls (opts: ServeOptions): Promise<ApiTlsOptions | undefined> {
  if (opts.apiTlsCert === undefined && opts.apiTlsKey === undefined) {
    if (opts.apiTlsClientCa !== undefined) throw new ServeInputError('--api-tls-client-ca needs --api-tls-cert and --api-tls-key')
    return undefined
  }
  if (opts.apiTlsCert === undefined || opts.apiTlsKey === undefined) {
    throw new ServeInputError('--api-tls-cert and --api-tls-key go together: give both')
  }
  return await readApiTlsFiles({
    cert: opts.apiTlsCert,
    key: opts.apiTlsKey,
    clientCa: opts.apiTlsClientCa,
    allowInsecureKeyPermissions: opts.allowInsecureApiTlsKey === true
  })
}

async function loadMembership (path: string): Promise<MemberSpec[]> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new ServeInputError(`cannot read membership file ${path}: ${(err as Error).message}`)
  }
  try {
    return fromJson(ConnectRequestSchema, json as never).nodes
  } catch (err) {
    throw new ServeInputError(`membership file ${path} is not a ConnectRequest ({"nodes":[{"id":…,"address":…}]}): ${(err as Error).message}`)
  }
}

/**
 * Resolves with the first SIGTERM or SIGINT; listening starts at once, so none
 * is missed. With MIRNET_STOP_WITH_PARENT=1 (set by `mirnet cluster`) the end
 * of stdin counts too: the parent that holds its other end has died. Later
 * signals are ignored rather than left to kill the daemon mid-stop: Ctrl-C on
 * `npm start` reaches the daemon twice, from the terminal and forwarded by npm.
 */
function nextStopSignal (): Promise<string> {
  return new Promise<string>(resolve => {
    let stopping = false
    const onTerm = (): void => { settle('SIGTERM') }
    const onInt = (): void => { settle('SIGINT') }
    const onParentGone = (): void => { settle('parent exited') }
    const watchParent = process.env.MIRNET_STOP_WITH_PARENT === '1'
    const settle = (reason: string): void => {
      if (stopping) return
      stopping = true
      if (watchParent) {
        process.stdin.off('end', onParentGone)
        process.stdin.off('error', onParentGone)
        process.stdin.pause()
      }
      resolve(reason)
    }
    process.on('SIGTERM', onTerm)
    process.on('SIGINT', onInt)
    if (watchParent) {
      process.stdin.once('end', onParentGone)
      process.stdin.once('error', onParentGone)
      process.stdin.resume()
    }
  })
}

async function serve (opts: ServeOptions): Promise<void> {
  // before anything else: a signal during start-up must stop the daemon, not kill it
  const stopSignal = nextStopSignal()
  const network = tunablesFrom(opts)
  // settings that only make sense together (a default lane among the lanes…, a
  // listen address among the transports) are checked before anything starts
  resolveConfig(network)
  assignListenAddresses(opts.transport, opts.listen ?? [])
  const log = createLogger(opts.logLevel, { nodeId: opts.nodeId })
  const daemonLog = log.child({ component: 'daemon' })
  const privateKey = await loadKey(opts, daemonLog)
  const apiToken = opts.apiTokenFile === undefined ? undefined : await readApiTokenFile(opts.apiTokenFile, { allowInsecurePermissions: opts.allowInsecureApiTokenFile === true })
  const apiTls = await loadTls(opts)
  const membership = opts.membership === undefined ? undefined : await loadMembership(opts.membership)
  // the daemon's modules load once every input is known good: help and a refusal answer without them
  const { Daemon } = await import('../daemon/daemon.ts')
  const daemon = await Daemon.start({
    nodeId: opts.nodeId,
    privateKey,
    transport: opts.transport,
    listen: opts.listen,
    apiHost: opts.api.host,
    apiPort: opts.api.port,
    metrics: opts.metrics,
    apiToken,
    apiTls,
    membership,
    network,
    logger: log
  })
  process.stdout.write(JSON.stringify({ event: 'ready', ...daemon.info, pid: process.pid }) + '\n')
  const { nodeId: _bound, ...info } = daemon.info
  daemonLog.info({ transports: opts.transport, ...info }, 'ready')
  daemonLog.info({ signal: await stopSignal }, 'signal received')
  await daemon.stop()
}
