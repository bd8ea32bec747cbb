// "This wasn't me": the takeover path closed end to end, and the link's limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountToken, Session, User } from '../../src/db/entities.ts';
import { dialects, registeredUser, startHarness, STRONG_PASSWORD, type Harness } from '../support/harness.ts';
import { linkIn, recipients, resetLinkIn, tokenOf } from '../support/smtp.ts';

describe.each(dialects())('"This wasn\'t me" on %s', (dialect) => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  const nextName = () => `safe${++n}`;
  const inbox = (address: string, subject: RegExp) => h.sink.waitFor((m) => recipients(m).includes(address) && subject.test(m.subject ?? ''));
  const userRow = (id: number) => h.orm.em.fork().findOneOrFail(User, { id });

  it('undoes a takeover: restores the address, ends the attacker\'s sessions, and sends the owner a reset link that works', async () => {
    const owner = await registeredUser(h, nextName());
    // The attacker holds a session and knows the password; they move the account to their own inbox.
    const attacker = h.request();
    await attacker.post('/api/auth/login').send({ email: owner.email, password: owner.password }).expect(200);
    const theirs = `${nextName()}-attacker@example.com`;
    await attacker.post('/api/users/me/email').send({ new_email: theirs, current_password: owner.password }).expect(202);
    const confirmToken = tokenOf(linkIn(await inbox(theirs, /Confirm/), '/account/email/confirm'));
    await attacker.post('/api/users/me/email/confirm').send({ token: confirmToken }).expect(200);
    expect((await userRow(owner.id)).email).toBe(theirs);

    const notice = await inbox(owner.email, /email address of your Inkwell account was changed/);
    const link = linkIn(notice, '/account/secure');
    // Opening the link (as a mail scanner would) changes nothing.
    const landed = await h.request().get(new URL(link).pathname + new URL(link).search);
    expect(landed.status).toBe(303);
    expect(landed.headers.location).toBe('/account/secure');
    expect((await userRow(owner.id)).email).toBe(theirs);

    const before = h.sink.messages.length;
    const res = await h.request().post('/api/auth/logout'); // an anonymous client
    expect(res.status).toBe(204);
    const secured = await h.request().post('/account/secure').type('form').send({ token: tokenOf(link) });
    expect(secured.status).toBe(303);
    expect(secured.headers.location).toBe('/login?notice=account_secured');
    expect(secured.headers['set-cookie'] ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/^inkwell=s%3A/)]));

    expect((await userRow(owner.id)).email).toBe(owner.email);
    await attacker.get('/api/users/me').expect(401);
    await owner.agent.get('/api/users/me').expect(401);
    expect(await h.orm.em.fork().count(Session, { user: owner.id })).toBe(0);

    const reset = await h.sink.waitFor((m) => h.sink.messages.indexOf(m) >= before && recipients(m).includes(owner.email) && /Reset/.test(m.subject ?? ''));
    const resetToken = tokenOf(resetLinkIn(reset));
    await h.request().post('/api/users/reset-password').send({ token: resetToken, new_password: 'mine again, for good' }).expect(200);
    await h.request().post('/api/auth/login').send({ email: owner.email, password: 'mine again, for good' }).expect(200);
    await h.request().post('/api/auth/login').send({ email: owner.email, password: STRONG_PASSWORD }).expect(401);
  });

  it('the owner\'s link outlives everything done from the taker\'s address, their own "This wasn\'t me" included, and wins', async () => {
    const owner = await registeredUser(h, nextName());
    const attacker = h.request();
    await attacker.post('/api/auth/login').send({ email: owner.email, password: owner.password }).expect(200);
    const theirs = `${nextName()}-taker@example.com`;
    await attacker.post('/api/users/me/email').send({ new_email: theirs, current_password: owner.password }).expect(202);
    await attacker.post('/api/users/me/email/confirm').send({ token: tokenOf(linkIn(await inbox(theirs, /Confirm/), '/account/email/confirm')) }).expect(200);
    const ownersLink = linkIn(await inbox(owner.email, /email address of your Inkwell account was changed/), '/account/secure');

    // From their address the taker changes the password and signs in from another device; both notices go to them.
    await attacker.patch('/api/users/me/password').send({ current_password: owner.password, new_password: 'the taker\'s own now' }).expect(200);
    const theirNotice = await inbox(theirs, /password was changed/);
    await h.request().post('/api/auth/login').set('User-Agent', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1')
      .send({ email: theirs, password: 'the taker\'s own now' }).expect(200);
    await h.tasks.drain();
    // Then they redeem their own "This wasn't me" and take the reset it sends them.
    const marked = h.sink.messages.length;
    await h.request().post('/account/secure').type('form').send({ token: tokenOf(linkIn(theirNotice, '/account/secure')) }).expect(303);
    const theirReset = await h.sink.waitFor((m) => h.sink.messages.indexOf(m) >= marked && recipients(m).includes(theirs) && /Reset/.test(m.subject ?? ''));
    expect((await userRow(owner.id)).email).toBe(theirs);

    // The owner's link still works: their address comes back, and so does the way in.
    const ownersTurn = h.sink.messages.length;
    const secured = await h.request().post('/account/secure').type('form').send({ token: tokenOf(ownersLink) });
    expect(secured.status).toBe(303);
    expect(secured.headers.location).toBe('/login?notice=account_secured');
    expect((await userRow(owner.id)).email).toBe(owner.email);
    const reset = await h.sink.waitFor((m) => h.sink.messages.indexOf(m) >= ownersTurn && recipients(m).includes(owner.email) && /Reset/.test(m.subject ?? ''));
    await h.request().post('/api/users/reset-password').send({ token: tokenOf(resetLinkIn(theirReset)), new_password: 'the taker tries again' }).expect(400);
    await h.request().post('/api/users/reset-password').send({ token: tokenOf(resetLinkIn(reset)), new_password: 'the owner\'s own again' }).expect(200);
    await h.request().post('/api/auth/login').send({ email: owner.email, password: 'the owner\'s own again' }).expect(200);
  });

  it('a link from an address between the owner\'s and the current one does not void the owner\'s', async () => {
    const owner = await registeredUser(h, nextName());
    const attacker = h.request();
    await attacker.post('/api/auth/login').send({ email: owner.email, password: owner.password }).expect(200);
    const moveTo = async (address: string) => {
      await attacker.post('/api/users/me/email').send({ new_email: address, current_password: owner.password }).expect(202);
      await attacker.post('/api/users/me/email/confirm').send({ token: tokenOf(linkIn(await inbox(address, /Confirm/), '/account/email/confirm')) }).expect(200);
    };
    const first = `${nextName()}-first@example.com`;
    const second = `${nextName()}-second@example.com`;
    await moveTo(first);
    await moveTo(second);
    const ownersLink = linkIn(await inbox(owner.email, /email address of your Inkwell account was changed/), '/account/secure');
    const firstsLink = linkIn(await inbox(first, /email address of your Inkwell account was changed/), '/account/secure');

    await h.request().post('/account/secure').type('form').send({ token: tokenOf(firstsLink) }).expect(303);
    expect((await userRow(owner.id)).email).toBe(first);
    await h.request().post('/account/secure').type('form').send({ token: tokenOf(ownersLink) }).expect(303);
    expect((await userRow(owner.id)).email).toBe(owner.email);
  });

  it('whoever moved the address cannot delete the account while the old address\'s link lives', async () => {
    const owner = await registeredUser(h, nextName());
    const attacker = h.request();
    await attacker.post('/api/auth/login').send({ email: owner.email, password: owner.password }).expect(200);
    const theirs = `${nextName()}-taker@example.com`;
    await attacker.post('/api/users/me/email').send({ new_email: theirs, current_password: owner.password }).expect(202);
    await attacker.post('/api/users/me/email/confirm').send({ token: tokenOf(linkIn(await inbox(theirs, /Confirm/), '/account/email/confirm')) }).expect(200);
    const ownersLink = linkIn(await inbox(owner.email, /email address of your Inkwell account was changed/), '/account/secure');

    const refused = await attacker.delete('/api/users/me').send({ current_password: owner.password });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('address_recently_changed');
    const page = await attacker.post('/account/delete').type('form').send({ current_password: owner.password });
    expect(page.status).toBe(409);
    expect(page.text).toContain('can still undo');
    expect(await h.orm.em.fork().count(User, { id: owner.id })).toBe(1);
    await h.request().post('/account/secure').type('form').send({ token: tokenOf(ownersLink) }).expect(303);
    expect((await userRow(owner.id)).email).toBe(owner.email);
  });

  it('once the old address\'s link has expired, the account can be deleted', async () => {
    const user = await registeredUser(h, nextName());
    const moved = `${nextName()}-new@example.com`;
    await user.agent.post('/api/users/me/email').send({ new_email: moved, current_password: user.password }).expect(202);
    await user.agent.post('/api/users/me/email/confirm').send({ token: tokenOf(linkIn(await inbox(moved, /Confirm/), '/account/email/confirm')) }).expect(200);
    await inbox(user.email, /email address of your Inkwell account was changed/);
    await h.orm.em.fork().nativeUpdate(AccountToken, { user: user.id, purpose: 'secure' }, { expiresAt: new Date(Date.now() - 1000) });
    await user.agent.delete('/api/users/me').send({ current_password: user.password }).expect(204);
  });

  it('works once, logs nobody in, sets no password, and voids the other tokens', async () => {
    const user = await registeredUser(h, nextName());
    await user.agent.patch('/api/users/me/password').send({ current_password: user.password, new_password: 'changed by someone' }).expect(200);
    const notice = await inbox(user.email, /password was changed/);
    expect(notice.text).toContain(`${h.baseUrl}/forgot-password`);
    const token = tokenOf(linkIn(notice, '/account/secure'));
    const passwordHash = (await userRow(user.id)).passwordHash;

    const browser = h.request();
    const res = await browser.post('/account/secure').type('form').send({ token });
    expect(res.status).toBe(303);
    expect((await userRow(user.id)).passwordHash).toBe(passwordHash);
    await browser.get('/api/users/me').expect(401);
    expect(await h.orm.em.fork().count(AccountToken, { user: user.id, purpose: 'secure' })).toBe(0);

    const again = await h.request().post('/account/secure').type('form').send({ token });
    expect(again.status).toBe(400);
    expect(again.text).toContain('This link does not work');
  });

  it('garbage, expired and another purpose\'s tokens get one generic 400', async () => {
    const user = await registeredUser(h, nextName());
    await user.agent.patch('/api/users/me/password').send({ current_password: user.password, new_password: 'changed to expire' }).expect(200);
    const token = tokenOf(linkIn(await inbox(user.email, /password was changed/), '/account/secure'));
    await h.orm.em.fork().nativeUpdate(AccountToken, { user: user.id, purpose: 'secure' }, { expiresAt: new Date(Date.now() - 1000) });
    const answers = await Promise.all([token, 'A'.repeat(43), 'short'].map((t) => h.request().post('/account/secure').type('form').send({ token: t })));
    for (const answer of answers) expect(answer.status).toBe(400);
    expect(answers[1].text).toBe(answers[0].text);
    expect((await h.request().get('/account/secure')).status).toBe(400);
  });

  it('every security notice carries the link: password changed, email changed, new sign-in', async () => {
    const user = await registeredUser(h, nextName());
    await h.request().post('/api/auth/login').set('User-Agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0').send({ email: user.email, password: user.password }).expect(200);
    await h.request().post('/api/auth/login').set('User-Agent', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1').send({ email: user.email, password: user.password }).expect(200);
    const signIn = await inbox(user.email, /New sign-in/);
    expect(() => linkIn(signIn, '/account/secure')).not.toThrow();
  });
});
