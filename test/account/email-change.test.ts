// Changing the email address: the current password first, nothing changes until the new inbox
// confirms, the same answer for a taken address, and the old address is told with a way to undo.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountToken, User } from '../../src/db/entities.ts';
import { dialects, registeredUser, requestResetToken, startHarness, type Harness } from '../support/harness.ts';
import { linkIn, recipients, tokenOf } from '../support/smtp.ts';

describe.each(dialects())('changing the email address on %s', (dialect) => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  const nextName = () => `mail${++n}`;
  const inbox = (address: string, subject: RegExp) => h.sink.waitFor((m) => recipients(m).includes(address) && subject.test(m.subject ?? ''));
  const emailOf = async (id: number) => (await h.orm.em.fork().findOneOrFail(User, { id })).email;

  it('needs the current password, and changes nothing without it', async () => {
    const user = await registeredUser(h, nextName());
    const res = await user.agent.post('/api/users/me/email').send({ new_email: 'elsewhere@example.com', current_password: 'not it at all' });
    expect(res.status).toBe(422);
    expect(res.body.error.fields.current_password).toBeTypeOf('string');
    expect(await h.orm.em.fork().count(AccountToken, { user: user.id })).toBe(0);
    await h.request().post('/api/users/me/email').send({ new_email: 'x@example.com', current_password: user.password }).expect(401);
  });

  it('changes the address only once the new inbox confirms, and tells the old one', async () => {
    const user = await registeredUser(h, nextName());
    const newEmail = `${nextName()}-new@example.com`;
    const res = await user.agent.post('/api/users/me/email').send({ new_email: newEmail, current_password: user.password });
    expect(res.status).toBe(202);
    const confirm = await inbox(newEmail, /Confirm your new/);
    expect(await emailOf(user.id)).toBe(user.email);
    const token = tokenOf(linkIn(confirm, '/account/email/confirm'));
    expect(confirm.html).toContain('Confirm my new address');

    // Someone else's session cannot use the link.
    const other = await registeredUser(h, nextName());
    await other.agent.post('/api/users/me/email/confirm').send({ token }).expect(400);
    expect(await emailOf(user.id)).toBe(user.email);

    await user.agent.post('/api/users/me/email/confirm').send({ token }).expect(200);
    expect(await emailOf(user.id)).toBe(newEmail);
    await user.agent.post('/api/users/me/email/confirm').send({ token }).expect(400); // once

    const notice = await inbox(user.email, /email address of your Inkwell account was changed/);
    expect(notice.text).not.toContain(newEmail); // partly masked
    expect(notice.text).toContain(`${newEmail.slice(0, 1)}•••`);
    expect(notice.text).toContain('/account/secure?token=');
    expect(notice.html).toContain("This wasn't me");

    // Logging in and recovery now use the new address.
    await h.request().post('/api/auth/login').send({ email: newEmail, password: user.password }).expect(200);
    await h.request().post('/api/auth/login').send({ email: user.email, password: user.password }).expect(401);
  });

  it('answers a taken address exactly as a free one, changes nothing, and tells its owner without a link', async () => {
    const user = await registeredUser(h, nextName());
    const owner = await registeredUser(h, nextName());
    const free = await user.agent.post('/api/users/me/email').send({ new_email: `${nextName()}@example.com`, current_password: user.password });
    const taken = await user.agent.post('/api/users/me/email').send({ new_email: owner.email, current_password: user.password });
    expect(taken.status).toBe(free.status);
    expect(taken.text).toBe(free.text);
    expect(taken.headers['content-type']).toBe(free.headers['content-type']);

    const note = await inbox(owner.email, /Someone tried to use this address/);
    expect(note.text).not.toMatch(/token=/);
    expect(note.text).toContain(`${h.baseUrl}/forgot-password`);
    expect(await emailOf(user.id)).toBe(user.email);
    expect(await emailOf(owner.id)).toBe(owner.email);

    const pages = await Promise.all([`${nextName()}@example.com`, owner.email].map((new_email) =>
      user.agent.post('/account/email').set('HX-Request', 'true').type('form').send({ new_email, current_password: user.password })));
    expect(pages[0].status).toBe(202);
    expect(pages[1].status).toBe(202);
    expect(pages[1].text).toBe(pages[0].text);
  });

  it('confirming voids every reset link and every other pending change', async () => {
    const user = await registeredUser(h, nextName());
    const resetToken = await requestResetToken(h, user.email);
    const newEmail = `${nextName()}@example.com`;
    await user.agent.post('/api/users/me/email').send({ new_email: newEmail, current_password: user.password }).expect(202);
    const token = tokenOf(linkIn(await inbox(newEmail, /Confirm/), '/account/email/confirm'));
    await user.agent.post('/api/users/me/email/confirm').send({ token }).expect(200);
    await h.request().post('/api/users/reset-password').send({ token: resetToken, new_password: 'never going to work' }).expect(400);
  });

  it('two confirmations at once: one wins', async () => {
    const user = await registeredUser(h, nextName());
    const newEmail = `${nextName()}@example.com`;
    await user.agent.post('/api/users/me/email').send({ new_email: newEmail, current_password: user.password }).expect(202);
    const token = tokenOf(linkIn(await inbox(newEmail, /Confirm/), '/account/email/confirm'));
    const answers = await Promise.all([1, 2, 3].map(() => user.agent.post('/api/users/me/email/confirm').send({ token })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 400, 400]);
  });

  it('expired, garbage and missing tokens get one generic answer', async () => {
    const user = await registeredUser(h, nextName());
    const newEmail = `${nextName()}@example.com`;
    await user.agent.post('/api/users/me/email').send({ new_email: newEmail, current_password: user.password }).expect(202);
    const token = tokenOf(linkIn(await inbox(newEmail, /Confirm/), '/account/email/confirm'));
    await h.orm.em.fork().nativeUpdate(AccountToken, { user: user.id }, { expiresAt: new Date(Date.now() - 1000) });
    const expired = await user.agent.post('/api/users/me/email/confirm').send({ token });
    const garbage = await user.agent.post('/api/users/me/email/confirm').send({ token: 'A'.repeat(43) });
    expect(expired.status).toBe(400);
    expect(garbage.body).toEqual(expired.body);
    await user.agent.post('/api/users/me/email/confirm').send({}).expect(422);
    await user.agent.post('/api/users/me/email/confirm').send({ token: ['a', 'b'] }).expect(422);
    expect(await emailOf(user.id)).toBe(user.email);
  });

  it('refuses CR/LF, arrays and non-addresses as the new address', async () => {
    const user = await registeredUser(h, nextName());
    for (const new_email of ['a@example.com\r\nBcc: x@example.com', ['a@example.com', 'b@example.com'], 'not an address', { a: 1 }]) {
      const res = await user.agent.post('/api/users/me/email').send({ new_email, current_password: user.password });
      expect(res.status).toBe(422);
    }
    expect(await h.orm.em.fork().count(AccountToken, { user: user.id })).toBe(0);
  });

  it('the emailed link moves its token out of the address bar and asks for a login first', async () => {
    const user = await registeredUser(h, nextName());
    const newEmail = `${nextName()}@example.com`;
    await user.agent.post('/api/users/me/email').send({ new_email: newEmail, current_password: user.password }).expect(202);
    const link = linkIn(await inbox(newEmail, /Confirm/), '/account/email/confirm');
    const browser = h.request();
    const landed = await browser.get(new URL(link).pathname + new URL(link).search);
    expect(landed.status).toBe(303);
    expect(landed.headers.location).toBe('/account/email/confirm');
    expect(landed.headers['cache-control']).toBe('no-store');
    const next = await browser.get('/account/email/confirm');
    expect(next.status).toBe(303);
    expect(next.headers.location).toBe('/login?next=%2Faccount%2Femail%2Fconfirm');
    await browser.post('/login').type('form').send({ email: user.email, password: user.password, next: '/account/email/confirm' }).expect(303);
    const page = await browser.get('/account/email/confirm').expect(200);
    expect(page.text).toContain('Use this address');
    expect(await emailOf(user.id)).toBe(user.email); // a GET never consumes
    const done = await browser.post('/account/email/confirm').type('form').send({});
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/account?notice=email_changed');
    expect(await emailOf(user.id)).toBe(newEmail);
    expect((await browser.get('/account?notice=email_changed')).text).toContain('Your email address has been changed');
  });
});

// Issue 30, finding 6: email change mailed any address without a limit (15 requests, 15 emails).
describe.each(dialects())('the per-address window of email change on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect, { env: { SIGNUP_THROTTLE_SECONDS: '60' } });
  });
  afterAll(() => h.close());

  it('fifteen requests for one address deliver one email, each answered the same 202', async () => {
    const user = await registeredUser(h, 'flooder');
    const target = 'someone-else@example.com';
    const answers = [];
    for (let i = 0; i < 15; i++) {
      answers.push(await user.agent.post('/api/users/me/email').send({ new_email: target, current_password: user.password }));
    }
    expect(new Set(answers.map((a) => `${a.status} ${a.text}`))).toEqual(new Set([answers[0].status + ' ' + answers[0].text]));
    expect(answers[0].status).toBe(202);
    await h.tasks.drain();
    expect(h.sink.messages.filter((m) => recipients(m).includes(target))).toHaveLength(1);
    // The one email's link still works: a silent repeat replaced nothing.
    const mail = h.sink.messages.find((m) => recipients(m).includes(target))!;
    await user.agent.post('/api/users/me/email/confirm').send({ token: tokenOf(linkIn(mail, '/account/email/confirm')) }).expect(200);
    // Another address has a window of its own.
    await user.agent.post('/api/users/me/email').send({ new_email: 'a-third@example.com', current_password: user.password }).expect(202);
    await h.sink.waitFor((m) => recipients(m).includes('a-third@example.com'));
  });
});
