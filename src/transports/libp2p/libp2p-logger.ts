import { format } from 'node:util'
import type { Logger } from '../../core/logger.ts'
import type { ComponentLogger, Logger as Libp2pLog } from '@libp2p/interface'

/**
 * libp2p's own logs, into the daemon's logger under `component: 'transport'`
 * with libp2p's name for the part (`libp2p: 'libp2p:tcp'`). libp2p logs
 * per connection and per stream, and some failures it reports are routine
 * (a dial to a member that is down): its errors are written at debug, the
 * rest at trace, so the default level shows none of it.
 */
export function libp2pLogger (logger: Logger): ComponentLogger {
  const base = logger.child({ component: 'transport' })
  return { forComponent: name => scoped(base, name) }
}

function scoped (base: Logger, name: string): Libp2pLog {
  const log = base.child({ libp2p: name })
  const traceEnabled = base.isLevelEnabled?.('trace') === true
  const debugEnabled = base.isLevelEnabled?.('debug') ?? true
  const trace = log.trace
  const write = (formatter: unknown, args: unknown[]): string => format(formatter, ...args)
  const fn = (traceEnabled && trace !== undefined
    ? (formatter: unknown, ...args: unknown[]) => { trace.call(log, {}, write(formatter, args)) }
    : () => {}) as Libp2pLog
  fn.trace = fn
  fn.error = debugEnabled
    ? (formatter: unknown, ...args: unknown[]) => { log.debug({}, write(formatter, args)) }
    : () => {}
  fn.enabled = traceEnabled
  fn.newScope = (scope: string) => scoped(base, `${name}:${scope}`)
  return fn
}
