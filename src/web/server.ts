// The HTTP server: limits that keep slow and greedy clients from holding the process, and a stop
// that ends. Each limit's reason is in docs/operations.md; they are constants, not configuration.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { LogThrottle, type Logger } from '../log.ts';
import { within } from '../deadline.ts';

export const SERVER_LIMITS = {
  /** A request's headers must arrive within this (Node: 60 s). Slowloris holds a socket per trickle. */
  headersTimeoutMs: 10_000,
  /** The whole request, body included (at most 16 KB here), within this (Node: 300 s). */
  requestTimeoutMs: 30_000,
  /** An idle keep-alive connection is closed after this; longer than a proxy's 60 s so the proxy closes first. */
  keepAliveTimeoutMs: 65_000,
  /**
   * Unlimited (Node's default): past a cap Node answers 503 to a keep-alive client that sends on before
   * it sees `Connection: close` (a proxy's pooled upstream connection does), a failure for a healthy
   * client. Pipelining and idle connections are bounded by the limits around this one instead.
   */
  maxRequestsPerSocket: 0,
  /** Open connections; more are refused at once instead of exhausting file descriptors. */
  maxConnections: 1_000,
  /**
   * Open connections from one address (an IPv6 /64), when no proxy is trusted: one client holding
   * idle sockets could otherwise take all of `maxConnections` and refuse everyone. A browser opens
   * at most 6 per site, so this is ~16 busy browsers behind one NAT. Off behind a proxy, which
   * connects from one address for everybody (the proxy limits its clients instead).
   */
  maxConnectionsPerAddress: 100,
  /**
   * How often Node looks for connections past `headersTimeout`/`requestTimeout` (Node: 30 s, which
   * let silent sockets live 10–40 s instead of 10).
   */
  connectionsCheckingIntervalMs: 1_000,
  /** Requests one connection may have waiting for their answers (pipelining); beyond it, it is cut. */
  maxUnanswered: 2,
  /** Answer bytes a connection may leave unread; beyond it, or unread for `stalledMs`, it is cut. */
  maxUnreadBytes: 1024 * 1024,
  stalledMs: 10_000,
  /** At a stop, connections not busy with a received request get this long before they are closed. */
  stopGraceMs: 2_000,
} as const;

type Exchange = { req: IncomingMessage; res: ServerResponse };
type Connection = { exchanges: Set<Exchange>; lastWritten: number; stalledSince: number | undefined };

type HttpServer = {
  server: Server;
  listen: (port: number, host: string) => Promise<void>;
  /**
   * The first step of a stop: `/readyz` answers 503 at once, so the proxy's next health check takes
   * this instance out of rotation, while every other request is still served as usual, for `ms`.
   * Answers carry `Connection: close` meanwhile, so the proxy's pooled connections wind down one by one.
   */
  drain: (ms: number) => Promise<void>;
  /**
   * Stops listening, lets requests already received finish, and closes every other connection
   * (idle, slow to send, not reading) after a short grace. Resolves when no connection is left,
   * or at `deadline` (epoch ms) after cutting the rest; returns how many requests were cut.
   */
  stop: (deadline: number) => Promise<number>;
};

export function createHttpServer(app: RequestListener, log: Logger, options: { capPerAddress: boolean }): HttpServer {
  const limits = SERVER_LIMITS;
  const connections = new Map<Socket, Connection>();
  const openPerAddress = new Map<string, number>();
  const throttle = new LogThrottle();
  let draining = false;
  let stopping = false;

  const cut = (socket: Socket, reason: string) => {
    throttle.run(reason, (suppressed) => log.warn({ reason, suppressed }, 'connection cut'));
    socket.destroy();
  };

  // Every request passes here before the app. Node parses all the requests a client pipelined in
  // one packet at once: those after a cut are dropped here, not served to nobody.
  const guarded: RequestListener = (req, res) => {
    const connection = connections.get(req.socket);
    if (!connection || req.socket.destroyed) return;
    if (connection.exchanges.size >= limits.maxUnanswered) return cut(req.socket, 'too many unanswered requests');
    const exchange = { req, res };
    connection.exchanges.add(exchange);
    res.once('close', () => connection.exchanges.delete(exchange));
    // A keep-alive client told `Connection: close` lets go as soon as its answer is out.
    if (draining || stopping) res.setHeader('Connection', 'close');
    if (draining && req.url === '/readyz') {
      res.writeHead(503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end('{"status":"stopping"}');
      return;
    }
    app(req, res);
  };

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.connectionsCheckingIntervalMs,
    },
    guarded,
  );
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  server.maxConnections = limits.maxConnections;

  server.on('connection', (socket: Socket) => {
    if (options.capPerAddress) {
      const address = clientKey(socket.remoteAddress);
      const open = openPerAddress.get(address) ?? 0;
      if (open >= limits.maxConnectionsPerAddress) {
        throttle.run('address cap', (suppressed) =>
          log.warn({ max: limits.maxConnectionsPerAddress, suppressed }, 'connection refused: too many open from one address'),
        );
        socket.destroy();
        return;
      }
      openPerAddress.set(address, open + 1);
      socket.once('close', () => {
        const left = (openPerAddress.get(address) ?? 1) - 1;
        if (left > 0) openPerAddress.set(address, left);
        else openPerAddress.delete(address);
      });
    }
    connections.set(socket, { exchanges: new Set(), lastWritten: 0, stalledSince: undefined });
    socket.once('close', () => connections.delete(socket));
  });
  server.on('drop', () => throttle.run('connection cap', () => log.warn({ max: limits.maxConnections }, 'connection refused: too many open')));

  // A client that does not read its answers: they wait in memory, so it is cut off.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [socket, connection] of connections) {
      if (socket.writableLength === 0) {
        connection.stalledSince = undefined;
      } else if (socket.writableLength > limits.maxUnreadBytes) {
        cut(socket, 'answers not read');
      } else if (socket.bytesWritten !== connection.lastWritten || connection.stalledSince === undefined) {
        connection.stalledSince = now;
      } else if (now - connection.stalledSince > limits.stalledMs) {
        cut(socket, 'answers not read');
      }
      connection.lastWritten = socket.bytesWritten;
    }
  }, 1_000);
  sweep.unref();
  server.once('close', () => clearInterval(sweep));

  function listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  async function drain(ms: number): Promise<void> {
    draining = true;
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }

  async function stop(deadline: number): Promise<number> {
    draining = false;
    stopping = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    for (const { exchanges } of connections.values()) {
      for (const { res } of exchanges) if (!res.headersSent) res.setHeader('Connection', 'close');
    }
    if (await within(closed, limits.stopGraceMs)) return 0;
    // Past the grace, a connection stays only while the app is answering a request it fully received.
    for (const [socket, { exchanges }] of connections) {
      const working = [...exchanges].some(({ req, res }) => req.complete && !res.writableEnded);
      if (!working) socket.destroy();
    }

    if (await within(closed, deadline - Date.now())) return 0;
    let cutRequests = 0;
    for (const { exchanges } of connections.values()) cutRequests += exchanges.size;
    server.closeAllConnections();
    return cutRequests;
  }

  return { server, listen, drain, stop };
}

/** An IPv4 address as is; an IPv6 one by its /64, the block one subscriber usually holds whole. */
function clientKey(address: string | undefined): string {
  if (!address) return '';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice('::ffff:'.length);
  if (!address.includes(':')) return address;
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return groups.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(':') + '::/64';
}
