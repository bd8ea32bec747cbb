// PORT=0 without APP_BASE_URL (how tests and local tools start Inkwell): the kernel picks the port,
// and every link must name that port, not `http://localhost:0`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, startApp, type AppProcess } from '../support/app-process.ts';
import { STRONG_PASSWORD } from '../support/harness.ts';
import { CONFIRM_SUBJECT, confirmationLinkIn, recipients, startSmtpSink, type Sink } from '../support/smtp.ts';

describe('PORT=0 without APP_BASE_URL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'inkwell-port-'));
  let sink: Sink;
  let app: AppProcess;
  beforeAll(async () => {
    sink = await startSmtpSink();
    // No APP_BASE_URL, which only production requires (`test`: JSON log lines, which startApp reads).
    app = await startApp({ NODE_ENV: 'test', DATABASE_URL: `sqlite:${join(dir, 'inkwell.db')}`, SMTP_URL: sink.url });
  });
  afterAll(async () => {
    await app?.stop();
    await sink?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('emailed links name the port the server bound', async () => {
    const port = new URL(app.url).port;
    const email = 'bound@example.com';
    const answer = await client(app).post('/api/users', { username: 'bound', email, password: STRONG_PASSWORD });
    expect(answer.status).toBe(202);
    const mail = await sink.waitFor((m) => recipients(m).includes(email) && m.subject === CONFIRM_SUBJECT);
    const link = new URL(confirmationLinkIn(mail));
    expect(link.origin).toBe(`http://localhost:${port}`);
    // And the link works: the page it names answers (its token then moves out of the address bar).
    expect((await fetch(`${app.url}${link.pathname}${link.search}`, { redirect: 'manual' })).status).toBe(303);
  });
});
