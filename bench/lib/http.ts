// A plain HTTP client for measured requests: one keep-alive connection, one request at a time.
import http from 'node:http';

/** `at`: when the request was sent (performance.now(), ms), for figures over time. */
export type Timed = { status: number; ms: number; reused: boolean; at: number };

export type Connection = {
  send: (method: string, path: string, form?: Record<string, string>, extraHeaders?: Record<string, string>) => Promise<Timed>;
  close: () => void;
};

/** One keep-alive socket (maxSockets 1): every request waits for the previous answer, like dudect's oracle. */
export function connect(origin: string): Connection {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(origin);
  return {
    send(method, path, form, extraHeaders = {}) {
      const body = form ? new URLSearchParams(form).toString() : undefined;
      const headers: http.OutgoingHttpHeaders = body
        ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...extraHeaders }
        : { ...extraHeaders };
      return new Promise((resolve, reject) => {
        const start = process.hrtime.bigint();
        const at = performance.now();
        const req = http.request({ agent, hostname, port, method, path, headers, timeout: 30_000 }, (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - start) / 1e6, reused: req.reusedSocket, at }),
          );
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

/** Calls `probe` every `everyMs` (never two at once) until `stop` resolves; returns the latencies. */
export async function probeUntil(stop: Promise<unknown>, everyMs: number, probe: () => Promise<Timed>): Promise<Timed[]> {
  const results: Timed[] = [];
  let stopped = false;
  void stop.finally(() => (stopped = true));
  while (!stopped) {
    const started = performance.now();
    results.push(await probe());
    const wait = everyMs - (performance.now() - started);
    if (wait > 0 && !stopped) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return results;
}
