/**
 * Load generator of the dead-peer-memory scenario, run as a forked child so
 * that protobuf encoding does not delay the parent's sampling. It offers
 * `rate` messages per second of `payloadBytes` to one destination through
 * one SendStream, in batches paced by the clock (each tick sends what is due,
 * in batches of at most `batchMessages`), for `seconds`, then reports what it
 * offered and what the daemon said it queued.
 *
 * IPC, child -> parent: `started`, then `done` or `error`.
 *
 *   fork(mem-sender.ts, [JSON.stringify(MemSenderArgs)])
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { createMirnetClient } from '../../src/client/client.ts'
import type { OutboundMessage } from '../../gen/ts/mirnet/v1/transport_pb.ts'

export interface MemSenderArgs {
  /** Daemon API host:port. */
  api: string
  destination: string
  rate: number
  payloadBytes: number
  seconds: number
  batchMessages: number
}

export type FromMemSender =
  | { type: 'started' }
  | {
    type: 'done'
    /** Messages handed to the stream. */
    offered: number
    /** From the first batch to the end of the stream. */
    elapsedSeconds: number
    /** What the daemon's SendStreamResponse counted. */
    queued: number
    droppedOldest: number
    requests: number
  }
  | { type: 'error', message: string }

const TICK_MS = 10

function report (message: FromMemSender): void {
  process.send?.(message)
}

async function main (args: MemSenderArgs): Promise<void> {
  const client = createMirnetClient(args.api)
  const payload = new Uint8Array(args.payloadBytes).fill(0x5a)
  const message = { destinations: [args.destination], payload } as OutboundMessage
  const full = Array.from({ length: args.batchMessages }, () => message)
  let offered = 0
  let started = 0
  async function * batches (): AsyncGenerator<{ messages: OutboundMessage[] }> {
    started = performance.now()
    report({ type: 'started' })
    const endAt = started + args.seconds * 1000
    for (;;) {
      const now = performance.now()
      if (now >= endAt) return
      let due = Math.floor((now - started) / 1000 * args.rate) - offered
      while (due > 0) {
        const n = Math.min(due, args.batchMessages)
        yield { messages: n === full.length ? full : full.slice(0, n) }
        offered += n
        due -= n
      }
      await sleep(TICK_MS)
    }
  }
  const res = await client.sendStream(batches())
  report({
    type: 'done',
    offered,
    elapsedSeconds: (performance.now() - started) / 1000,
    queued: Number(res.queued),
    droppedOldest: Number(res.droppedOldest),
    requests: Number(res.requests)
  })
}

main(JSON.parse(process.argv[2]) as MemSenderArgs).then(
  () => { process.disconnect?.() },
  (err: unknown) => {
    report({ type: 'error', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) })
    process.exitCode = 1
    process.disconnect?.()
  }
)
