// One client holding many idle sockets must not lock everyone else out (issue 30, finding 9): with no
// proxy trusted, connections are capped per address, and silent sockets are reaped within about a
// second of the headers timeout instead of up to 30 s later.
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_LIMITS } from '../../src/web/server.ts';
import { startApp, type AppProcess } from '../support/app-process.ts';
import { until } from '../support/net.ts';

// Distinct client addresses on loopback: all of 127.0.0.0/8 is local.
const ATTACKER = '127.0.0.2';
const VISITOR = '127.0.0.3';
const SILENT = '127.0.0.4';

describe('idle sockets from one client', () => {
  let app: AppProcess;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // No TRUST_PROXY: the app faces clients directly, as in development or a small deployment.
    app = await startApp({ NODE_ENV: 'test', DATABASE_URL: 'sqlite::memory:' });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await app?.stop();
  });

  it('a socket that never sends a request is closed within a couple of seconds of the headers timeout', async () => {
    const { port } = new URL(app.url);
    const lifetimes = await Promise.all(
      Array.from({ length: 5 }, () => {
        const opened = Date.now();
        const socket = connect({ host: '127.0.0.1', port: Number(port), localAddress: SILENT });
        sockets.push(socket);
        socket.on('error', () => {});
        // Read what arrives (a 408), or the close is never seen.
        socket.resume();
        return new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
      }),
    );
    // Node checks every connectionsCheckingInterval; at its default (30 s) these lived up to 40 s.
    expect(Math.max(...lifetimes)).toBeLessThan(SERVER_LIMITS.headersTimeoutMs + 3_000);
    expect(Math.min(...lifetimes)).toBeGreaterThanOrEqual(SERVER_LIMITS.headersTimeoutMs - 100);
  });

  it('a visitor is served while another address holds 1,000 idle connections, and the cut is logged', async () => {
    const { port } = new URL(app.url);
    // Every socket connected (or already cut): the server accepts in order, so the visitor below
    // comes after all of them.
    await Promise.all(
      Array.from({ length: SERVER_LIMITS.maxConnections }, () => {
        const socket = connect({ host: '127.0.0.1', port: Number(port), localAddress: ATTACKER });
        sockets.push(socket);
        socket.on('error', () => {});
        socket.resume();
        return new Promise((resolve) => {
          socket.once('connect', resolve);
          socket.once('close', resolve);
        });
      }),
    );
    expect(await statusOf(`${app.url}/healthz`, VISITOR)).toBe(200);
    expect(app.messages()).toContain('connection refused: too many open from one address');
    // The attacker keeps at most its share; the rest were closed at once.
    const open = () => sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
    await until(() => open() <= SERVER_LIMITS.maxConnectionsPerAddress, 'the connections over the cap to close');
  });
});

/** A GET from a chosen local address; the status, or the error code when the connection was refused or cut. */
function statusOf(url: string, localAddress: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, { localAddress, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}
