import { pino } from 'pino'
import type { DestinationStream } from 'pino'
import type { Logger } from '../core/logger.ts'

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

/**
 * Structured JSON logs, one object per line, on stderr (stdout is kept for
 * the ready line) unless `destination` says otherwise. Components log through
 * children of this logger: `component` names the part, `peer` the member.
 */
export function createLogger (level: string, bindings: Record<string, unknown> = {}, destination: DestinationStream = pino.destination({ fd: 2, sync: true })): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings } }, destination) as unknown as Logger
}
