// A port picked before it is bound: only for the two programs that cannot bind port 0 and report it
// (PostgreSQL, and the app when its log goes where the test cannot read it). Between the pick and the
// bind another program may take it, so both callers start again on another port when that happens.
import { createServer } from 'node:net';

export function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
