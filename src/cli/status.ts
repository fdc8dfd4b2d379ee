import { performance } from 'node:perf_hooks'
import { setTimeout as delay } from 'node:timers/promises'
import { toJson } from '@bufbuild/protobuf'
import { InvalidArgumentError, Option } from 'commander'
import { GetStatusResponseSchema } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import { addApiClientOptions, apiClientFrom, usesTls } from './api-client-options.ts'
import { ApiUnreachableError, describeApiFailure } from './api-errors.ts'
import { durationMs } from './options.ts'
import { appendedFrame, terminalEnd, terminalFrame } from './screen.ts'
import { renderStatus, renderUnavailable, STATUS_COLUMNS_HELP } from './status-table.ts'
import type { Command } from 'commander'
import type { GetStatusResponse } from '../../gen/ts/mirnet/v1/transport_pb.ts'
import type { ApiClientOptions } from './api-client-options.ts'
import type { StatusSample } from './status-table.ts'

/** The shortest `--interval`: a faster refresh shows nothing a person can read. */
export const MIN_STATUS_INTERVAL_MS = 100

/** How long one GetStatus call may take. */
export const STATUS_CALL_TIMEOUT_MS = 5_000

interface StatusOptions extends ApiClientOptions {
  watch?: boolean
  json?: boolean
  interval: number
}

function interval (value: string): number {
  const ms = durationMs(value)
  if (ms < MIN_STATUS_INTERVAL_MS) throw new InvalidArgumentError(`expected at least ${MIN_STATUS_INTERVAL_MS}ms, got "${value}"`)
  return ms
}

export function statusCommand (program: Command): void {
  const command = program.command('status')
    .description('show one daemon\'s members with their state, per-lane queued/sent/acknowledged/dropped messages and rates per second, the inbox and tentative peers')
    .option('--watch', 'refresh until Ctrl-C (SIGINT) or SIGTERM: in place on a terminal, like top; otherwise one frame after the other')
    .addOption(new Option('--interval <duration>', 'time between two samples (500ms, 1s, 2m…): between refreshes with --watch; without it, between the two samples the rates come from').default(1000, '1s').argParser(interval))
    .option('--json', 'print the GetStatus response as one line of JSON (proto3 JSON form, every field; 64-bit counters as strings), at once; with --watch one line per refresh')
  addApiClientOptions(command)
  command.addHelpText('after', `
Without --json, \`mirnet status\` samples GetStatus twice, --interval apart,
and prints one table; with --watch it samples every --interval and redraws.
${STATUS_COLUMNS_HELP}

While the daemon cannot be reached, --watch says so and keeps trying; a
refused token or a TLS failure stops it. Exit code 0, also when stopped by
SIGINT or SIGTERM; 1 with a message on stderr when a call fails.`)
  command.action(async (opts: StatusOptions) => { await runStatus(opts) })
}

/** One line of JSON: the response in its proto3 JSON form, zero values included. */
export function statusJsonLine (status: GetStatusResponse): string {
  return JSON.stringify(toJson(GetStatusResponseSchema, status, { alwaysEmitImplicit: true })) + '\n'
}

/** One GetStatus call, as a sample. */
export type Sampler = (signal?: AbortSignal) => Promise<StatusSample>

async function runStatus (opts: StatusOptions): Promise<void> {
  const client = await apiClientFrom(opts)
  const ctx = { address: opts.api, method: 'GetStatus', tls: usesTls(opts), timeoutMs: STATUS_CALL_TIMEOUT_MS }
  const sample: Sampler = async signal => {
    try {
      const status = await client.getStatus({}, { signal, timeoutMs: STATUS_CALL_TIMEOUT_MS })
      return { status, atMs: performance.now() }
    } catch (err) {
      throw describeApiFailure(err, ctx)
    }
  }
  if (opts.watch === true) {
    await watch(opts, sample, process.stdout)
    return
  }
  if (opts.json === true) {
    process.stdout.write(statusJsonLine((await sample()).status))
    return
  }
  const previous = await sample()
  await delay(opts.interval)
  const current = await sample()
  process.stdout.write(renderStatus({ api: opts.api, current, previous, time: new Date() }).map(line => line + '\n').join(''))
}

/** Where `--watch` writes its frames: stdout, or any stream like it. */
export interface FrameOutput {
  /** A terminal: frames are redrawn in place. */
  isTTY?: boolean
  columns?: number
  rows?: number
  write: (text: string) => unknown
  on: (event: 'error', listener: (err: NodeJS.ErrnoException) => void) => unknown
  off: (event: 'error', listener: (err: NodeJS.ErrnoException) => void) => unknown
}

export interface WatchInit {
  /** The address shown in the header. */
  api: string
  intervalMs: number
  json: boolean
  sample: Sampler
  out: FrameOutput
  /** Ends the watch (SIGINT, SIGTERM). */
  signal: AbortSignal
}

/** `--watch`, stopped by SIGINT or SIGTERM. */
async function watch (opts: StatusOptions, sample: Sampler, out: FrameOutput): Promise<void> {
  const stop = new AbortController()
  const onSignal = (): void => { stop.abort() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    await watchStatus({ api: opts.api, intervalMs: opts.interval, json: opts.json === true, sample, out, signal: stop.signal })
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/**
 * Sample every `intervalMs` until `signal` aborts or the output's reader goes
 * away, writing a frame (or a JSON line) per sample. While the daemon cannot
 * be reached, each refresh says so and the next one tries again; any other
 * failure ends the watch with its error.
 */
export async function watchStatus (init: WatchInit): Promise<void> {
  const { out } = init
  const stop = new AbortController()
  const signal = AbortSignal.any([init.signal, stop.signal])
  const onOutputError = (err: NodeJS.ErrnoException): void => {
    // the reader went away (`mirnet status --watch | head`): stop
    if (err.code === 'EPIPE') stop.abort()
    else process.stderr.write(`mirnet: writing the status failed: ${err.message}\n`)
  }
  out.on('error', onOutputError)
  const terminal = out.isTTY === true && !init.json
  let previous: StatusSample | undefined
  let frames = 0
  const show = (lines: string[]): void => {
    out.write(terminal
      ? terminalFrame(lines, { columns: out.columns ?? 80, rows: out.rows ?? 24 }, frames === 0)
      : appendedFrame(lines, frames === 0))
    frames++
  }
  try {
    while (!signal.aborted) {
      const started = performance.now()
      try {
        const current = await init.sample(signal)
        if (init.json) out.write(statusJsonLine(current.status))
        else show(renderStatus({ api: init.api, current, previous, time: new Date() }))
        previous = current
      } catch (err) {
        if (signal.aborted) break
        if (!(err instanceof ApiUnreachableError)) throw err
        previous = undefined
        if (init.json) process.stderr.write(`mirnet: ${err.message} (trying again)\n`)
        else show(renderUnavailable(init.api, new Date(), err.message, init.intervalMs))
      }
      try {
        await delay(Math.max(0, init.intervalMs - (performance.now() - started)), undefined, { signal })
      } catch (err) {
        // stopped: the loop ends
        if (!signal.aborted) throw err
      }
    }
  } finally {
    out.off('error', onOutputError)
    if (terminal && frames > 0) out.write(terminalEnd())
  }
}
