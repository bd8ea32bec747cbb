// A second web server on another site (*.localhost), recording what browsers send when they navigate to it.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type OtherSite = {
  /** An address on this site; `elsewhere.localhost` is loopback in Chromium, and another site than 127.0.0.1. */
  url: (path: string) => string;
  /** Headers of every request received, oldest first. */
  requests: { path: string; headers: IncomingHttpHeaders }[];
  stop: () => Promise<void>;
};

export async function startOtherSite(): Promise<OtherSite> {
  const requests: OtherSite['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><title>Elsewhere</title><h1>Another site</h1></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://elsewhere.localhost:${port}${path}`,
    requests,
    stop: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
