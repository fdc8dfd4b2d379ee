/**
 * The IPC side shared by the link workers (`link-sender.ts`,
 * `link-receiver.ts`): report `ready`, hand each parent message to the
 * worker, report failures, and exit once closed or when the parent goes away.
 */
import type { NetworkModuleInit } from '../../src/index.ts'
import { LINK_SYSTEMS } from '../lib/link-pair.ts'
import type { FromWorker, LinkSystem, PeerInfo } from '../lib/link-pair.ts'

export interface Worker<M> {
  /** How the other side reaches this worker. */
  peer: PeerInfo
  /** Handle one parent message other than `close`; a rejection ends the worker. */
  handle: (message: M) => Promise<void>
  close: () => Promise<void>
}

/**
 * A closed worker exits through `process.exit()` this long after it closed
 * (time for its last IPC messages), never by its event loop running dry:
 * after a TLS connection was reset, node 24 can spin forever in its exit
 * cleanup (`Environment::CleanupHandles`, waiting for a write request of the
 * TLS wrap that never completes; seen with gdb in a receiver that did not
 * exit), which `process.exit()` skips. The daemon exits the same way
 * (bin/mirnet.ts).
 */
const EXIT_GRACE_MS = 100

export function reply (message: FromWorker): void {
  if (process.connected) process.send?.(message)
}

function describe (err: unknown): string {
  return err instanceof Error ? err.stack ?? err.message : String(err)
}

/** The system named on the command line. */
export function systemArg (entry: string): LinkSystem {
  const system = process.argv[2] as LinkSystem
  if (process.send === undefined) throw new Error(`${entry} is a child process of bench/lib/link-pair.ts; run the link scenario instead`)
  if (!LINK_SYSTEMS.includes(system)) throw new Error(`${entry}: unknown system "${process.argv[2]}"; known: ${LINK_SYSTEMS.join(', ')}`)
  return system
}

/** The NetworkModule tunables given after the system (JSON), for system `mirnet`. */
export function initArg (): NetworkModuleInit {
  return JSON.parse(process.argv[3] ?? '{}') as NetworkModuleInit
}

/** Start the worker, serve parent messages until `close` (or a failure), then exit. */
export async function serve<M extends { type: string }> (entry: string, start: () => Promise<Worker<M>>): Promise<void> {
  let worker: Worker<M> | undefined
  let closing: Promise<void> | undefined
  const stop = (): void => {
    closing ??= (worker?.close() ?? Promise.resolve())
      .catch((err: unknown) => { fail(err) })
      .finally(() => {
        if (process.connected) process.disconnect()
        // neither a handle left open nor node's exit cleanup may keep the process alive
        setTimeout(() => { process.exit(process.exitCode ?? 0) }, EXIT_GRACE_MS)
      })
  }
  const fail = (err: unknown): void => {
    reply({ type: 'error', message: describe(err) })
    process.exitCode = 1
    stop()
  }
  process.on('message', (message: M) => {
    if (message.type === 'close') stop()
    else if (worker !== undefined && closing === undefined) worker.handle(message).catch(fail)
  })
  // the parent is gone: do not outlive it
  process.on('disconnect', stop)
  try {
    worker = await start()
  } catch (err) {
    if (!process.connected) process.stderr.write(`${entry}: ${describe(err)}\n`)
    fail(err)
    return
  }
  reply({ type: 'ready', peer: worker.peer })
}
