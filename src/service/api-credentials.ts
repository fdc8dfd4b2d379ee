import { readFile, stat } from 'node:fs/promises'
import { createSecureContext } from 'node:tls'
import type { ApiTlsOptions } from './api-server.ts'

/** A token, certificate or key file of the API that cannot be used as it is. */
export class ApiCredentialsError extends Error {
  override name = 'ApiCredentialsError'
}

/** Visible ASCII without spaces: what fits in `authorization: Bearer <token>`. */
const TOKEN = /^[\x21-\x7e]+$/

interface SecretFileOptions {
  /** Accept a file that group or others can access. @default false */
  allowInsecurePermissions?: boolean
  /** The flag that overrides the permission check, named in the error. */
  overrideFlag: string
}

async function readFileOf (what: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (err) {
    throw new ApiCredentialsError(`cannot read ${what} ${path}: ${(err as Error).message}`)
  }
}

/** A file holding a secret: refused when group or others can access it, as key files are. */
async function readSecretFile (what: string, path: string, options: SecretFileOptions): Promise<Buffer> {
  let mode
  try {
    mode = (await stat(path)).mode
  } catch (err) {
    throw new ApiCredentialsError(`cannot read ${what} ${path}: ${(err as Error).message}`)
  }
  if ((mode & 0o077) !== 0 && options.allowInsecurePermissions !== true) {
    throw new ApiCredentialsError(`${what} ${path} has mode ${(mode & 0o777).toString(8)}; it must not be accessible by group or others (chmod 600 ${path}, or pass ${options.overrideFlag})`)
  }
  return await readFileOf(what, path)
}

/**
 * The API's bearer token from a file: its content without surrounding
 * whitespace (a trailing newline is fine). Refuses an empty token, one with
 * characters a header cannot carry, and a file group or others can access
 * unless `allowInsecurePermissions`.
 */
export async function readApiTokenFile (path: string, options: { allowInsecurePermissions?: boolean } = {}): Promise<string> {
  const what = 'API token file'
  const token = (await readSecretFile(what, path, { ...options, overrideFlag: '--allow-insecure-api-token-file' })).toString('utf8').trim()
  if (token.length === 0) throw new ApiCredentialsError(`${what} ${path} is empty`)
  if (!TOKEN.test(token)) {
    throw new ApiCredentialsError(`${what} ${path} must hold one token of visible ASCII characters without spaces (for example the output of \`openssl rand -hex 32\`)`)
  }
  return token
}

export interface ApiTlsFiles {
  /** PEM certificate chain of the server. */
  cert: string
  /** PEM private key of the server. */
  key: string
  /** PEM CA certificates that sign client certificates. @default none */
  clientCa?: string
  /** Accept a key file that group or others can access. @default false */
  allowInsecureKeyPermissions?: boolean
}

/**
 * The API's TLS material from PEM files, checked as TLS will use it: PEM
 * that parses, a key that matches the certificate. The key file is refused
 * when group or others can access it unless `allowInsecureKeyPermissions`.
 */
export async function readApiTlsFiles (files: ApiTlsFiles): Promise<ApiTlsOptions> {
  const key = await readSecretFile('API TLS key file', files.key, {
    allowInsecurePermissions: files.allowInsecureKeyPermissions,
    overrideFlag: '--allow-insecure-api-tls-key'
  })
  const cert = await readFileOf('API TLS certificate file', files.cert)
  const clientCa = files.clientCa === undefined ? undefined : await readFileOf('API TLS client CA file', files.clientCa)
  try {
    createSecureContext({ cert, key })
  } catch (err) {
    throw new ApiCredentialsError(`API TLS certificate ${files.cert} and key ${files.key} cannot be used together: ${(err as Error).message}`)
  }
  if (clientCa !== undefined) {
    try {
      createSecureContext({ ca: clientCa })
    } catch (err) {
      throw new ApiCredentialsError(`API TLS client CA file ${files.clientCa} is not PEM certificates: ${(err as Error).message}`)
    }
  }
  return { cert, key, clientCa }
}

export interface ApiClientTlsFiles {
  /** PEM CA certificates that sign the daemon's certificate. @default Node's bundled root CAs */
  ca?: string
  /** PEM client certificate chain, for a daemon started with `--api-tls-client-ca`. @default none */
  cert?: string
  /** PEM private key of `cert`. @default none */
  key?: string
  /** Accept a key file that group or others can access. @default false */
  allowInsecureKeyPermissions?: boolean
}

/**
 * A client's TLS material towards the API, from PEM files: the CA that signs
 * the daemon's certificate, and a client certificate and key (both or
 * neither). The key file is refused as the daemon's is, when group or others
 * can access it, unless `allowInsecureKeyPermissions`.
 */
export async function readApiClientTlsFiles (files: ApiClientTlsFiles): Promise<{ ca?: Buffer, cert?: Buffer, key?: Buffer }> {
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw new ApiCredentialsError('an API TLS client certificate and its key go together: give both or neither')
  }
  const ca = files.ca === undefined ? undefined : await readFileOf('API TLS CA file', files.ca)
  if (ca !== undefined) {
    try {
      createSecureContext({ ca })
    } catch (err) {
      throw new ApiCredentialsError(`API TLS CA file ${files.ca} is not PEM certificates: ${(err as Error).message}`)
    }
  }
  if (files.cert === undefined || files.key === undefined) return { ca }
  const key = await readSecretFile('API TLS key file', files.key, {
    allowInsecurePermissions: files.allowInsecureKeyPermissions,
    overrideFlag: '--allow-insecure-api-tls-key'
  })
  const cert = await readFileOf('API TLS certificate file', files.cert)
  try {
    createSecureContext({ cert, key })
  } catch (err) {
    throw new ApiCredentialsError(`API TLS certificate ${files.cert} and key ${files.key} cannot be used together: ${(err as Error).message}`)
  }
  return { ca, cert, key }
}
