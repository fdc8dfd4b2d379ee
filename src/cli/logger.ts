import { pino } from 'pino'
import type { Logger } from '../core/logger.ts'

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

/** Structured JSON logs on stderr; stdout is kept for the ready line. */
export function createLogger (level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings } }, pino.destination({ fd: 2, sync: true })) as unknown as Logger
}
