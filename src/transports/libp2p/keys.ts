import { chmod, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'

/** A key file that cannot be used as it is. */
export class KeyFileError extends Error {
  override name = 'KeyFileError'
}

/** A fresh Ed25519 libp2p identity. */
export async function generateKey (): Promise<PrivateKey> {
  return await generateKeyPair('Ed25519')
}

/** The peer id (base58 string) of a private key. */
export function peerIdOf (key: PrivateKey): string {
  return peerIdFromPrivateKey(key).toString()
}

/** The bytes of a key file: libp2p's protobuf encoding of the private key. */
export function keyFileBytes (key: PrivateKey): Uint8Array {
  return privateKeyToProtobuf(key)
}

/**
 * Write a key as libp2p's protobuf encoding, readable by the owner only (0600).
 * Refuses to overwrite an existing file.
 */
export async function writeKeyFile (path: string, key: PrivateKey): Promise<void> {
  try {
    await writeFile(path, keyFileBytes(key), { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileError(`key file ${path} already exists; not overwriting it`)
    throw err
  }
  await chmod(path, 0o600)
}

/**
 * Read a key file. Refuses one that others can read or write unless
 * `allowInsecurePermissions` is set.
 */
export async function readKeyFile (path: string, options: { allowInsecurePermissions?: boolean } = {}): Promise<PrivateKey> {
  let info
  try {
    info = await stat(path)
  } catch (err) {
    throw new KeyFileError(`cannot read key file ${path}: ${(err as Error).message}`)
  }
  if ((info.mode & 0o077) !== 0 && options.allowInsecurePermissions !== true) {
    throw new KeyFileError(`key file ${path} has mode ${(info.mode & 0o777).toString(8)}; it must not be accessible by group or others (chmod 600 ${path})`)
  }
  const bytes = await readFile(path)
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new KeyFileError(`key file ${path} is not a libp2p private key: ${(err as Error).message}`)
  }
}

/**
 * Copy the key in `from` to `to` as a 0600 file of the current user,
 * replacing a file already there (written beside it, then renamed). `from` may
 * be readable by its group: this is for Kubernetes Secret volumes, whose files
 * are root-owned and group-readable, so that the daemon then reads its key
 * with the permission check on. Resolves with the key.
 */
export async function installKeyFile (from: string, to: string): Promise<PrivateKey> {
  const key = await readKeyFile(from, { allowInsecurePermissions: true })
  const temporary = `${to}.${process.pid}.tmp`
  await rm(temporary, { force: true })
  await writeKeyFile(temporary, key)
  await rename(temporary, to)
  return key
}
