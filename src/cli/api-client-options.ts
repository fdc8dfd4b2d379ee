import { InvalidArgumentError, Option } from 'commander'
import { createMirnetClient } from '../client/client.ts'
import { readApiClientTlsFiles, readApiTokenFile } from '../service/api-credentials.ts'
import { hostPort } from './options.ts'
import type { Command } from 'commander'
import type { MirnetClient, MirnetClientTls } from '../client/client.ts'

/** API client options that do not go together. */
export class ApiClientOptionsError extends Error {
  override name = 'ApiClientOptionsError'
}

/** The options of a command that calls a daemon's API, as commander parses them. */
export interface ApiClientOptions {
  api: string
  apiTokenFile?: string
  allowInsecureApiTokenFile?: boolean
  apiTlsCa?: string
  apiTlsClientCert?: string
  apiTlsClientKey?: string
  allowInsecureApiTlsKey?: boolean
  apiTlsServerName?: string
}

/** `--api`: `HOST:PORT`, `[V6]:PORT`, or either after `http://` or `https://`. */
export function apiAddress (value: string): string {
  const m = /^(?:(https?):\/\/)?([^/]+?)\/?$/.exec(value)
  if (m === null) throw new InvalidArgumentError(`expected HOST:PORT or http(s)://HOST:PORT, got "${value}"`)
  try {
    hostPort(m[2])
  } catch {
    throw new InvalidArgumentError(`expected HOST:PORT or http(s)://HOST:PORT, got "${value}"`)
  }
  return value.replace(/\/$/, '')
}

/** The default of `--api`: where `mirnet serve` listens by default. */
export const DEFAULT_API_ADDRESS = '127.0.0.1:7070'

/**
 * The options that say where a daemon's API is and how to authenticate to
 * it. The address and the token file take the same environment variables as
 * `serve` (`MIRNET_API`, `MIRNET_API_TOKEN_FILE`), so a command run in the
 * daemon's environment reaches it as it is.
 */
export function addApiClientOptions (command: Command): Command {
  return command
    .addOption(new Option('--api <address>', 'the daemon\'s API: HOST:PORT (as in its ready line), or http(s)://HOST:PORT').env('MIRNET_API').default(DEFAULT_API_ADDRESS, DEFAULT_API_ADDRESS).argParser(apiAddress))
    .addOption(new Option('--api-token-file <file>', 'send "authorization: Bearer <token>" with this file\'s content (mode 0600), for a daemon started with --api-token-file').env('MIRNET_API_TOKEN_FILE'))
    .addOption(new Option('--allow-insecure-api-token-file', 'accept an API token file that group or others can read').env('MIRNET_ALLOW_INSECURE_API_TOKEN_FILE'))
    .addOption(new Option('--api-tls-ca <file>', 'call the API over TLS, trusting the PEM CA certificates of this file (an https:// --api without it trusts Node\'s root CAs)').env('MIRNET_API_TLS_CA'))
    .addOption(new Option('--api-tls-client-cert <file>', 'call the API over TLS with this PEM client certificate, for a daemon started with --api-tls-client-ca (needs --api-tls-client-key)').env('MIRNET_API_TLS_CLIENT_CERT'))
    .addOption(new Option('--api-tls-client-key <file>', 'PEM private key of --api-tls-client-cert (mode 0600)').env('MIRNET_API_TLS_CLIENT_KEY'))
    .addOption(new Option('--allow-insecure-api-tls-key', 'accept an API TLS client key file that group or others can read').env('MIRNET_ALLOW_INSECURE_API_TLS_KEY'))
    .addOption(new Option('--api-tls-server-name <name>', 'the name the daemon\'s certificate must carry, if not the host of --api').env('MIRNET_API_TLS_SERVER_NAME'))
}

/** TLS is asked for by an `https://` address or by any of the TLS options. */
export function usesTls (opts: ApiClientOptions): boolean {
  return opts.api.startsWith('https://') || opts.apiTlsCa !== undefined || opts.apiTlsClientCert !== undefined ||
    opts.apiTlsClientKey !== undefined || opts.apiTlsServerName !== undefined
}

/** A client of the daemon the options name, with the token and TLS files read and checked. */
export async function apiClientFrom (opts: ApiClientOptions): Promise<MirnetClient> {
  const token = opts.apiTokenFile === undefined
    ? undefined
    : await readApiTokenFile(opts.apiTokenFile, { allowInsecurePermissions: opts.allowInsecureApiTokenFile === true })
  let tls: MirnetClientTls | undefined
  let address = opts.api
  if (usesTls(opts)) {
    if (address.startsWith('http://')) throw new ApiClientOptionsError(`--api ${address} says http://, but TLS options are given: use https:// or a plain HOST:PORT`)
    const files = await readApiClientTlsFiles({
      ca: opts.apiTlsCa,
      cert: opts.apiTlsClientCert,
      key: opts.apiTlsClientKey,
      allowInsecureKeyPermissions: opts.allowInsecureApiTlsKey === true
    })
    tls = { ...files, serverName: opts.apiTlsServerName }
    if (!address.startsWith('https://')) address = `https://${address}`
  }
  return createMirnetClient(address, { token, tls })
}
