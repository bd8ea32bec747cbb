// Logs: structured request lines, with no token, password, session id, cookie or authorization in them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { recipients, resetLinkIn, tokenOf } from '../support/smtp.ts';
import { PATIENCE_MS } from '../support/net.ts';

describe.each(dialects())('logs on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  it('a whole reset leaves no secret in the logs', async () => {
    const user = await registeredUser(h, 'erin');
    await h.request().post('/forgot-password').type('form').send({ email: user.email }).expect(202);
    const link = resetLinkIn(await h.sink.waitFor((m) => recipients(m).includes(user.email) && m.subject === 'Reset your Inkwell password'));
    const token = tokenOf(link);
    const browser = h.request();
    await browser
      .get(`/reset-password?token=${token}`)
      .set('Authorization', 'Bearer super-secret-bearer')
      .set('Cookie', `${user.cookie}; other=visible-cookie-value`)
      .expect(303);
    await browser.post('/reset-password').type('form').send({ new_password: 'logged nowhere at all' }).expect(303);
    await h.tasks.drain(PATIENCE_MS);

    const text = h.logs.join('\n');
    const requestLine = h.logs.map((l) => JSON.parse(l)).find((l) => l.req?.url?.startsWith('/reset-password?'));
    expect(requestLine.req.url).toBe('/reset-password?token=[redacted]');
    expect(requestLine.res.statusCode).toBe(303);
    for (const secret of [token, 'super-secret-bearer', 'visible-cookie-value', user.cookie.split('=')[1], user.password, 'logged nowhere at all']) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toContain(decodeURIComponent(user.cookie.split('=')[1]).slice(2, 20)); // the session id itself
  });
});
