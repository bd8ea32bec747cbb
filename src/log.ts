// The application logger: structured JSON, with every secret-bearing field redacted, written so that
// logging can never stop the process (see LogOutput). In development the same lines are pretty-printed.
import type { Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

// Keys our own log calls must never show the value of. Top-level keys only: a path into a nested
// object (`req.headers.cookie`, as pino-http's lines needed) makes pino copy that object for every
// line, about 10 µs of CPU per request line (docs/benchmarks.md), and no line carries headers: the
// request log (src/web/request-log.ts) writes named fields only.
const REDACT = ['password', 'token', 'link'];

// What may wait in memory for a slow log reader. Past it, lines are dropped (and counted), not queued:
// a stalled reader costs at most this much memory, never the process.
export const LOG_BUFFER_BYTES = 1024 * 1024;

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino({ level: options.level ?? 'info', redact: { paths: REDACT, censor: '[redacted]' } }, options.destination);
}

/**
 * Where the process's log lines go: stdout, through Node's own non-blocking stream (a pipe, a
 * socket, a file or a terminal), never through a synchronous flush at exit. Chosen over pino's
 * default destination (sonic-boom), whose exit-time `flushSync` retries every write error forever:
 * with the log reader gone or stalled, `process.exit()` then never returned.
 *
 * - Reader stalled (a full pipe): up to LOG_BUFFER_BYTES wait in memory; further lines are dropped
 *   and counted, and a "log lines dropped" line says how many once the reader catches up.
 * - Reader gone (EPIPE) or disk full (ENOSPC): logging stops for good; lines are dropped and counted.
 * - At exit: `flush` waits for the buffer, but only as long as it is told; what is left is lost.
 *
 * Lines are handed to the stream once per turn of the event loop, joined: one write system call per
 * turn instead of one per line. With stdout a file, that call cost more CPU than the rest of an
 * anonymous page's answer (docs/benchmarks.md). A line waits at most until the loop's next check
 * phase; `writeWaiting` hands them over at once (the process logger calls it on exit).
 */
export class LogOutput implements DestinationStream {
  /** Lines dropped since start: buffer full, or the output broken. */
  dropped = 0;
  #unreported = 0;
  #broken = false;
  #waiting: string[] = [];
  #waitingBytes = 0;
  readonly #stream: Writable;
  readonly #maxBuffered: number;

  constructor(stream: Writable = process.stdout, maxBuffered = LOG_BUFFER_BYTES) {
    this.#stream = stream;
    this.#maxBuffered = maxBuffered;
    // Without a listener, EPIPE on stdout would be an uncaught exception.
    stream.on('error', () => {
      this.#broken = true;
    });
  }

  write(line: string): void {
    if (this.#broken || this.#stream.writableLength + this.#waitingBytes > this.#maxBuffered) {
      this.dropped++;
      this.#unreported++;
      return;
    }
    if (this.#unreported > 0) {
      const note = { level: 40, time: Date.now(), dropped: this.#unreported, msg: 'log lines dropped: the log reader was too slow' };
      this.#queue(`${JSON.stringify(note)}\n`);
      this.#unreported = 0;
    }
    this.#queue(line);
  }

  /** Hands every waiting line to the stream now (for a file or a pipe on Linux, written before this returns). */
  writeWaiting(): void {
    if (this.#waiting.length === 0) return;
    const chunk = this.#waiting.join('');
    this.#waiting = [];
    this.#waitingBytes = 0;
    if (!this.#broken) this.#stream.write(chunk);
  }

  #queue(line: string): void {
    if (this.#waiting.length === 0) setImmediate(() => this.writeWaiting());
    this.#waiting.push(line);
    this.#waitingBytes += line.length;
  }

  /** Waits until every accepted line has reached the OS, at most `timeoutMs`; false if some had not. */
  async flush(timeoutMs: number): Promise<boolean> {
    this.writeWaiting();
    // Polled: 'drain' only fires after a write was refused, not whenever the buffer empties.
    const deadline = Date.now() + timeoutMs;
    while (!this.#broken && this.#stream.writableLength > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return !this.#broken && this.#stream.writableLength === 0;
  }
}

/**
 * The process's logger: JSON lines on stdout, or in development (when the pino-pretty dev
 * dependency is installed) the same lines made readable. Redaction happens before either.
 */
export async function createProcessLogger(development: boolean): Promise<{ log: Logger; output: LogOutput }> {
  const output = new LogOutput();
  // Whatever ends the process (process.exit, an uncaught error), the lines of its last turn go out.
  process.on('exit', () => output.writeWaiting());
  const pretty = development ? await prettyPrinter() : undefined;
  const destination: DestinationStream = pretty ? { write: (line) => output.write(pretty(line)) } : output;
  return { log: createLogger({ destination }), output };
}

async function prettyPrinter(): Promise<((line: string) => string) | undefined> {
  try {
    const { prettyFactory } = await import('pino-pretty');
    return prettyFactory({ colorize: Boolean(process.stdout.isTTY), translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' });
  } catch {
    return undefined; // installed without dev dependencies: JSON it is
  }
}

/**
 * Lets one line through per `intervalMs` for each key, and counts the rest: a dependency that fails
 * for every request (a database outage) writes a line every interval, not one per request.
 */
export class LogThrottle {
  readonly #last = new Map<string, { at: number; suppressed: number }>();
  readonly #intervalMs: number;

  constructor(intervalMs = 10_000) {
    this.#intervalMs = intervalMs;
  }

  /** Calls `write(suppressed)` if this key has not been written within the interval; else counts it. */
  run(key: string, write: (suppressed: number) => void, now = Date.now()): void {
    const entry = this.#last.get(key);
    if (entry && now - entry.at < this.#intervalMs) {
      entry.suppressed++;
      return;
    }
    this.#last.set(key, { at: now, suppressed: 0 });
    write(entry?.suppressed ?? 0);
  }
}

/** What is safe to log of an error: its kind, code and message, never the data it carried. */
export function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const { code, responseCode, command } = err as Error & Record<string, unknown>;
  return { type: err.name, message: err.message, code, responseCode, command };
}

/** A request URL with the query string's `token` value hidden, for request logs. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]');
}
