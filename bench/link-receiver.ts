/**
 * Receiving side of `bench/link.ts`, run as a forked child process. It starts
 * a libp2p node, reports its address over IPC, joins the membership the parent
 * sends, and counts every message its module delivers. The parent asks for the
 * counts once it has handed a given number of messages to the connection.
 *
 * IPC, parent -> child: `members`, `await`, `close`; child -> parent: `ready`,
 * `connected`, `counts`, `error`.
 */
import { Libp2pTransport, NetworkModule, generateKey } from '../src/index.ts'
import type { MemberSpec } from '../src/index.ts'

type Inbox = NetworkModule['inbox']

export type ToReceiver =
  | { type: 'members', members: MemberSpec[] }
  /** Reply with `counts` once `messages` have been delivered in total, or after `timeoutMs`. */
  | { type: 'await', messages: number, timeoutMs: number }
  | { type: 'close' }

export type FromReceiver =
  | { type: 'ready', nodeId: string, address: string }
  | { type: 'connected' }
  | { type: 'counts', messages: number, bytes: number }
  | { type: 'error', message: string }

const NODE_ID = 'receiver'
const CONNECT_TIMEOUT_MS = 10_000
const TAKE_BATCH = 4096

interface Target {
  messages: number
  timer: NodeJS.Timeout
}

/** Cumulative delivered counts, answering at most one outstanding `await` at a time. */
class DeliveryCounter {
  messages = 0
  bytes = 0
  #target?: Target

  add (messages: number, bytes: number): void {
    this.messages += messages
    this.bytes += bytes
    if (this.#target !== undefined && this.messages >= this.#target.messages) this.#reply()
  }

  expect (messages: number, timeoutMs: number): void {
    if (this.#target !== undefined) clearTimeout(this.#target.timer)
    this.#target = { messages, timer: setTimeout(() => { this.#reply() }, timeoutMs) }
    if (this.messages >= messages) this.#reply()
  }

  cancel (): void {
    if (this.#target !== undefined) clearTimeout(this.#target.timer)
    this.#target = undefined
  }

  #reply (): void {
    this.cancel()
    send({ type: 'counts', messages: this.messages, bytes: this.bytes })
  }
}

function send (message: FromReceiver): void {
  if (process.connected) process.send?.(message)
}

/** Tell the parent (which prints it) and exit non-zero. */
function reportError (err: unknown): void {
  send({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) })
  process.exitCode = 1
}

async function consume (inbox: Inbox, counter: DeliveryCounter): Promise<void> {
  while (await inbox.wait()) {
    let bytes = 0
    const batch = inbox.take(TAKE_BATCH)
    for (const m of batch) bytes += m.payload.byteLength
    counter.add(batch.length, bytes)
  }
}

async function joinMembership (module: NetworkModule, members: MemberSpec[]): Promise<void> {
  module.connect(members)
  await module.waitFor(2, { signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS) })
  send({ type: 'connected' })
}

async function main (): Promise<void> {
  if (process.send === undefined) throw new Error('bench/link-receiver.ts is the child process of bench/link.ts; run that instead')
  const transport = await Libp2pTransport.create({ privateKey: await generateKey() })
  const module = new NetworkModule({ transport }, { nodeId: NODE_ID })
  await module.start()
  const counter = new DeliveryCounter()
  const consuming = consume(module.inbox, counter)

  let closing: Promise<void> | undefined
  const shutdown = async (): Promise<void> => {
    counter.cancel()
    await module.close()
    await consuming
  }
  /** Close the module, then the IPC channel, so that the process exits. */
  const stop = (): void => {
    closing ??= shutdown()
      .catch(reportError)
      .finally(() => { if (process.connected) process.disconnect() })
  }
  const fail = (err: unknown): void => {
    reportError(err)
    stop()
  }

  process.on('message', (message: ToReceiver) => {
    switch (message.type) {
      case 'members': joinMembership(module, message.members).catch(fail); break
      case 'await': counter.expect(message.messages, message.timeoutMs); break
      case 'close': stop(); break
    }
  })
  // the parent is gone: do not outlive it
  process.on('disconnect', stop)

  send({ type: 'ready', nodeId: NODE_ID, address: module.listenAddresses()[0] ?? '' })
}

main().catch((err: unknown) => {
  if (process.connected) {
    reportError(err)
    process.disconnect()
  } else {
    process.stderr.write(`link-receiver: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  }
})
