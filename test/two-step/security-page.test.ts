// /account/security without JavaScript (plain forms, whole pages) and with htmx (the card alone):
// turning two-step on from the QR page's key, the recovery codes shown once, "N left" with a warning,
// new codes and turning off behind "confirm it's you".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecoveryCode } from '../../src/db/entities.ts';
import { registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { codeFor } from './support.ts';

const htmx = { 'HX-Request': 'true' };

/** The key as the page shows it (grouped in fours), as a person would type it into their app. */
function keyOn(html: string): string {
  const key = /<code id="two-step-key"[^>]*>([A-Z2-7 ]+)<\/code>/.exec(html);
  if (!key) throw new Error('no key on the page');
  return key[1].replace(/ /g, '');
}
function codesOn(html: string): string[] {
  return [...html.matchAll(/<li><code>([0-9a-z-]{29})<\/code><\/li>/g)].map((m) => m[1]);
}

describe('the security page', () => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness('sqlite');
  });
  afterAll(() => h.close());

  /** Turns two-step on through the page's forms, as a browser without JavaScript does. */
  async function turnOnByPage() {
    const user = await registeredUser(h, `page${++n}`);
    const account = await user.agent.get('/account').expect(200);
    expect(account.text).toContain('href="/account/security"');
    const off = await user.agent.get('/account/security').expect(200);
    expect(off.text).toMatch(/Set up two-step verification/);
    const setup = await user.agent.post('/account/security/two-step').type('form').send({ current_password: user.password }).expect(200);
    expect(setup.text).toMatch(/<figure class="qr" role="img"[^>]*><svg /);
    const key = keyOn(setup.text);
    const on = await user.agent.post('/account/security/two-step/confirm').type('form').send({ code: codeFor(key) }).expect(200);
    const codes = codesOn(on.text);
    return { ...user, key, codes, page: on.text };
  }

  it('without JavaScript: the QR and the key, a code turns it on, and the ten codes are shown once with a download', async () => {
    const user = await turnOnByPage();
    expect(user.codes).toHaveLength(10);
    expect(user.page).toMatch(/only time they are shown/);
    const download = /href="data:text\/plain;charset=utf-8,([^"]+)"/.exec(user.page)!;
    expect(decodeURIComponent(download[1])).toContain(user.codes[9]);
    // Copy and Print need script: hidden until public/app.js shows them.
    expect(user.page).toMatch(/data-copy="#recovery-codes" hidden/);
    const again = await user.agent.get('/account/security').expect(200);
    expect(codesOn(again.text)).toHaveLength(0);
    expect(again.text).toMatch(/10 recovery codes left/);
    expect((await user.agent.get('/api/users/me')).body.user).toMatchObject({ two_step: true, recovery_codes_left: 10 });
  });

  it('a wrong code keeps it off and asks again; the page offers a new key', async () => {
    const user = await registeredUser(h, `page${++n}`);
    const setup = await user.agent.post('/account/security/two-step').type('form').send({ current_password: user.password }).expect(200);
    const key = keyOn(setup.text);
    const wrong = codeFor(key) === '000000' ? '111111' : '000000';
    const refused = await user.agent.post('/account/security/two-step/confirm').type('form').send({ code: wrong }).expect(422);
    expect(refused.text).toMatch(/That code is not right/);
    expect(refused.text).toMatch(/Start over with a new key/);
    expect((await user.agent.get('/api/users/me')).body.user.two_step).toBe(false);
    await user.agent.post('/account/security/two-step/confirm').type('form').send({ code: codeFor(key) }).expect(200);
    expect((await user.agent.get('/api/users/me')).body.user.two_step).toBe(true);
  });

  it('with htmx each form answers the two-step card alone', async () => {
    const user = await registeredUser(h, `page${++n}`);
    const setup = await user.agent.post('/account/security/two-step').set(htmx).type('form').send({ current_password: user.password }).expect(200);
    expect(setup.text.trim()).toMatch(/^<section id="two-step-card"/);
    expect(setup.text).not.toMatch(/<html/);
    const on = await user.agent.post('/account/security/two-step/confirm').set(htmx).type('form').send({ code: codeFor(keyOn(setup.text)) }).expect(200);
    expect(codesOn(on.text)).toHaveLength(10);
    expect(on.text).not.toMatch(/<html/);
  });

  it('warns at 3 codes or fewer', async () => {
    const user = await turnOnByPage();
    await h.orm.em.fork().nativeUpdate(RecoveryCode, { user: user.id, codeHash: { $in: (await h.orm.em.fork().find(RecoveryCode, { user: user.id }, { limit: 7 })).map((c) => c.codeHash) } }, { usedAt: new Date() });
    const page = await user.agent.get('/account/security').expect(200);
    expect(page.text).toMatch(/class="message warning"[^>]*>3 recovery codes left/);
  });

  it('new codes and turning off ask the password and a code unless this session confirmed lately; recovery codes never count', async () => {
    const user = await turnOnByPage();
    // A sign-in finished with a recovery code is not a confirmation.
    const other = h.request();
    await other.post('/login').type('form').send({ email: user.email, password: user.password }).expect(303);
    await other.post('/login/two-step').type('form').send({ recovery_code: user.codes[0] }).expect(303);
    const page = await other.get('/account/security').expect(200);
    expect(page.text).toMatch(/id="off-current-password"/);
    expect(page.text).toMatch(/id="off-code"/);
    const noCode = await other.post('/account/security/two-step/off').type('form').send({ current_password: user.password }).expect(422);
    expect(noCode.text).toMatch(/Enter the 6-digit code/);
    const recovery = await other.post('/account/security/two-step/off').type('form').send({ current_password: user.password, code: user.codes[1] }).expect(422);
    expect(recovery.text).toMatch(/aria-invalid="true"/);
    expect((await other.get('/api/users/me')).body.user.two_step).toBe(true);
    const renewed = await other.post('/account/security/recovery-codes').type('form').send({ current_password: user.password, code: codeFor(user.key, 1) }).expect(200);
    expect(codesOn(renewed.text)).toHaveLength(10);
    // Confirmed now: turning off asks nothing more for 10 minutes.
    const off = await other.post('/account/security/two-step/off').type('form').send({}).expect(200);
    expect(off.text).toMatch(/Two-step verification is off/);
    expect((await other.get('/api/users/me')).body.user.two_step).toBe(false);
  });
});
