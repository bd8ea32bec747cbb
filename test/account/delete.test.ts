// Deleting the account: the current password, everything of the user gone in one go, the address free again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountToken, Job, PasswordResetToken, SecurityEvent, Session, User } from '../../src/db/entities.ts';
import { dialects, registeredUser, requestResetToken, startHarness, type Harness } from '../support/harness.ts';
import { linkIn, recipients, tokenOf } from '../support/smtp.ts';

describe.each(dialects())('deleting the account on %s', (dialect) => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  const nextName = () => `gone${++n}`;
  const rowsOf = async (userId: number) => {
    const db = h.orm.em.fork();
    return {
      user: await db.count(User, { id: userId }),
      sessions: await db.count(Session, { user: userId }),
      resetTokens: await db.count(PasswordResetToken, { user: userId }),
      accountTokens: await db.count(AccountToken, { user: userId }),
      events: await db.count(SecurityEvent, { user: userId }),
    };
  };

  it('needs the current password and changes nothing without it', async () => {
    const user = await registeredUser(h, nextName());
    const res = await user.agent.delete('/api/users/me').send({ current_password: 'wrong, wrong, wrong' });
    expect(res.status).toBe(422);
    await user.agent.get('/api/users/me').expect(200);
    expect((await rowsOf(user.id)).user).toBe(1);
  });

  it('deletes the user and every row of theirs, ends the session, says goodbye, and frees the address', async () => {
    const user = await registeredUser(h, nextName());
    await requestResetToken(h, user.email);
    await user.agent.patch('/api/users/me/password').send({ current_password: user.password, new_password: 'one more change first' }).expect(200);
    await h.tasks.drain();
    const before = await rowsOf(user.id);
    expect(before.accountTokens + before.events + before.sessions).toBeGreaterThan(0);

    const res = await user.agent.post('/account/delete').type('form').send({ current_password: 'one more change first' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    expect(String(res.headers['set-cookie'])).toMatch(/inkwell=;/);
    expect(await rowsOf(user.id)).toEqual({ user: 0, sessions: 0, resetTokens: 0, accountTokens: 0, events: 0 });
    await user.agent.get('/api/users/me').expect(401);
    await h.request().post('/api/auth/login').send({ email: user.email, password: 'one more change first' }).expect(401);

    const goodbye = await h.sink.waitFor((m) => recipients(m).includes(user.email) && /deleted/.test(m.subject ?? ''));
    expect(goodbye.text).toContain('has been deleted');
    // The address and the name are free again.
    const again = await registeredUser(h, user.email.split('@')[0]);
    expect(again.id).not.toBe(user.id);
  });

  it('leaves neither its addresses nor its username nor its id in the job table', async () => {
    const user = await registeredUser(h, nextName());
    const moved = `${nextName()}-moved@example.com`;
    await user.agent.post('/api/users/me/email').send({ new_email: moved, current_password: user.password }).expect(202);
    const confirm = await h.sink.waitFor((m) => recipients(m).includes(moved));
    await user.agent.post('/api/users/me/email/confirm').send({ token: tokenOf(linkIn(confirm, '/account/email/confirm')) }).expect(200);
    await h.sink.waitFor((m) => recipients(m).includes(user.email) && /was changed/.test(m.subject ?? ''));
    await h.request().post('/api/auth/login').set('User-Agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0')
      .send({ email: moved, password: user.password }).expect(200);
    await h.tasks.drain();
    // A week on: the old address's "This wasn't me" link, which holds a deletion back, has expired.
    await h.orm.em.fork().nativeUpdate(AccountToken, { user: user.id, purpose: 'secure' }, { expiresAt: new Date(Date.now() - 1000) });
    await user.agent.delete('/api/users/me').send({ current_password: user.password }).expect(204);
    await h.sink.waitFor((m) => recipients(m).includes(moved) && /deleted/.test(m.subject ?? ''));
    await h.tasks.drain();
    const payloads = (await h.orm.em.fork().find(Job, {})).map((job) => job.payload);
    const username = user.email.split('@')[0];
    for (const trace of [user.email, moved, `"${username}"`, `"userId":${user.id},`, `"userId":${user.id}}`]) {
      expect(payloads.filter((payload) => payload.includes(trace))).toEqual([]);
    }
  });

  it('with htmx, a wrong password swaps the form with its error; the API answers 204', async () => {
    const user = await registeredUser(h, nextName());
    const wrong = await user.agent.post('/account/delete').set('HX-Request', 'true').type('form').send({ current_password: 'nope nope nope' });
    expect(wrong.status).toBe(422);
    expect(wrong.text).toContain('id="delete-form"');
    expect(wrong.text).not.toContain('<html');
    const ok = await user.agent.delete('/api/users/me').send({ current_password: user.password });
    expect(ok.status).toBe(204);
    expect((await rowsOf(user.id)).user).toBe(0);
  });
});
