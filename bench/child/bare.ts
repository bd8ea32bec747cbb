// A bare Express 5 "hello" server, the yardstick for what the app's pages cost.
import express from 'express';

const app = express();
app.get('/', (_req, res) => {
  res.send('hello');
});
app.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
