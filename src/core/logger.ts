/**
 * The logger the core writes to: the subset of pino's API it uses, so a pino
 * logger can be passed as is. Structured fields first, message second.
 */
export interface Logger {
  /** Only where the logger has it (pino does); for very chatty sources. */
  trace?: (fields: object, msg?: string) => void
  debug: (fields: object, msg?: string) => void
  info: (fields: object, msg?: string) => void
  warn: (fields: object, msg?: string) => void
  error: (fields: object, msg?: string) => void
  child: (bindings: Record<string, unknown>) => Logger
  /** Whether `level` would be written (pino has it); lets chatty sources skip their formatting. */
  isLevelEnabled?: (level: string) => boolean
}

const noop = (): void => {}

/** A logger that drops everything; the default for library users. */
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger
}
