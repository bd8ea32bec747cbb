// The application logger: structured JSON, with every secret-bearing field redacted.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

// Paths into pino-http's request/response objects and our own log calls.
const REDACT = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'password',
  'token',
  'link',
];

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino({ level: options.level ?? 'info', redact: { paths: REDACT, censor: '[redacted]' } }, options.destination);
}

/** A request URL with the query string's `token` value hidden, for request logs. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]');
}
