import type { Config } from './config.ts'

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const
export type LogLevel = keyof typeof LEVELS
export type LogFields = Record<string, string | number | boolean | undefined | null>

export type Logger = {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
}

/**
 * One JSON object per line on stdout. Callers pass ids, durations and outcomes,
 * never message text or keys; `redact` masks any configured secret that slips through.
 */
export function createLogger(
  level: Config['logLevel'],
  options: { secrets?: Array<string | undefined>; write?: (line: string) => void } = {},
): Logger {
  const secrets = (options.secrets ?? []).filter((secret): secret is string => !!secret)
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`))
  const redact = (line: string) =>
    secrets.reduce((text, secret) => text.replaceAll(secret, '[redacted]'), line)
  const emit =
    (at: LogLevel) =>
    (message: string, fields: LogFields = {}) => {
      if (LEVELS[at] < LEVELS[level]) return
      write(
        redact(JSON.stringify({ time: new Date().toISOString(), level: at, message, ...fields })),
      )
    }
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') }
}
