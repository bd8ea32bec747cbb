// What password managers rely on: the well-known change-password URL, and the account named beside every password.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredUser, startHarness, type Harness } from '../support/harness.ts';

describe('password managers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite');
  });
  afterAll(() => h.close());

  it('/.well-known/change-password leads to the account page', async () => {
    const res = await h.request().get('/.well-known/change-password');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/account');
  });

  it('every account form that asks for a password names the account for the password manager', async () => {
    const user = await registeredUser(h, 'keeper');
    const page = (await user.agent.get('/account').expect(200)).text;
    for (const form of ['password-form', 'email-form', 'delete-form']) {
      const html = page.slice(page.indexOf(`id="${form}"`), page.indexOf('</form>', page.indexOf(`id="${form}"`)));
      expect(html, form).toContain(`autocomplete="username" value="${user.email}" hidden`);
      expect(html, form).toContain('autocomplete="current-password"');
    }
  });
});
