import { pino, type DestinationStream, type Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'silent'];

export interface LogOptions {
  /** `info` by default: one line per request and per security event. */
  level?: LogLevel;
  /** Where JSON lines go (standard output by default). */
  destination?: DestinationStream;
}

/**
 * JSON lines for log shippers. Nothing secret is ever passed to the logger; the redaction list is
 * a second line of defence should a future field carry one.
 */
export function createLogger(options: LogOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['password', 'current_password', 'new_password', 'access_token', 'refresh_token', 'token', 'authorization', 'cookie'],
        censor: '[redacted]',
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
