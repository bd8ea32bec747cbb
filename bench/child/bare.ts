// A bare Express 5 "hello" server, the yardstick for what the app's pages cost.
import express from 'express';

const app = express();
app.get('/', (_req, res) => {
  res.send('hello');
});
// Port 0 by default: the kernel picks one, reported to the parent over IPC.
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.send?.({ type: 'listening', port: (server.address() as { port: number }).port });
});
process.on('SIGTERM', () => process.exit(0));
