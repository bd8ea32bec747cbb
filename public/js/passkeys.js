// Passkeys in the browser: sign in (a button, and autofill on the email field), the second step (after a
// password, and inside a two-step account's reset), confirm it's you, add one, and tell the browser which
// passkeys are gone. Progressive enhancement only: where WebAuthn is missing nothing here shows, and
// every page works without this file.
(() => {
  const webauthn = window.SimpleWebAuthnBrowser;
  if (!webauthn || !webauthn.browserSupportsWebAuthn()) return;

  const postJson = async (url, body) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body ?? {}),
      credentials: 'same-origin',
    });
    return { ok: res.ok, status: res.status, body: await res.json().catch(() => ({})) };
  };
  // The person closed the prompt, or another ceremony (the button) replaced this one: not an error.
  const quiet = (err) => err && (err.name === 'NotAllowedError' || err.name === 'AbortError' || err.code === 'ERROR_CEREMONY_ABORTED');
  const localPath = (path) => (path && path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\') ? path : null);

  function say(scope, text) {
    const box = scope.querySelector('[data-passkey-message]');
    if (!box) return;
    box.textContent = text;
    // Styled as a message only once it says something (an empty one is no message to find or announce).
    box.className = 'message error';
    box.hidden = false;
    box.focus();
  }

  /** No options came back: the server's message, if it gave one. */
  class NoOptions extends Error {}

  /**
   * Asks `url` for a challenge and lets the browser answer it with a passkey: the options and the
   * answer, or null when the person closed the prompt. Throws NoOptions when the server gave none.
   */
  async function authenticate(url, extra = {}) {
    const options = await postJson(url);
    if (!options.ok) throw new NoOptions((options.body.error && options.body.error.message) || '');
    try {
      return { options: options.body, response: await webauthn.startAuthentication({ optionsJSON: options.body, ...extra }) };
    } catch (err) {
      if (quiet(err)) return null;
      throw err;
    }
  }

  /**
   * One sign-in ceremony. `autofill` arms conditional mediation (the passkey appears among the email
   * field's suggestions); the button's modal ceremony cancels it first.
   */
  async function signIn(scope, autofill) {
    try {
      const ceremony = await authenticate('/api/auth/passkey/options', { useBrowserAutofill: autofill });
      if (!ceremony) return;
      const { options, response } = ceremony;
      const answer = await postJson('/api/auth/passkey', { response });
      if (answer.ok) {
        const next = scope.querySelector('input[name="next"]') || document.querySelector('input[name="next"]');
        window.location.assign(localPath(next && next.value) || '/account');
        return;
      }
      if (answer.body.credential_id && typeof PublicKeyCredential.signalUnknownCredential === 'function') {
        // Removed from the account (or never on it): the browser may stop offering it.
        webauthn.sendSignal({ signalName: 'unknownCredential', rpID: options.rpId, credentialID: answer.body.credential_id }).catch(() => {});
      }
      say(scope, (answer.body.error && answer.body.error.message) || 'That passkey did not work. Try again, or use your password.');
    } catch (err) {
      if (!autofill) say(scope, 'That passkey did not work. Try again, or use your password.');
    }
  }

  /** What needs WebAuthn is rendered hidden; it appears here (again in what htmx swaps in). */
  function reveal() {
    for (const el of document.querySelectorAll('[data-passkey-reveal], [data-passkey-add], [data-passkey-confirm]')) el.hidden = false;
  }

  document.addEventListener('click', (event) => {
    const button = event.target instanceof Element && event.target.closest('[data-passkey-sign-in]');
    if (!button) return;
    event.preventDefault();
    webauthn.WebAuthnAbortService.cancelCeremony();
    signIn(button.closest('[data-passkey-scope]') || document, false);
  });

  /** "Confirm it's you" with one of the account's passkeys; the page then asks for no password. */
  async function confirmIt(scope) {
    try {
      const ceremony = await authenticate('/api/auth/confirm/passkey/options');
      if (!ceremony) return;
      const answer = await postJson('/api/auth/confirm/passkey', { response: ceremony.response });
      // Back where the confirmation was asked for (/account/confirm says where), or this page again.
      if (answer.ok) return window.location.assign(localPath(scope.dataset && scope.dataset.passkeyNext) || `${window.location.pathname}?notice=confirmed`);
      say(scope, (answer.body.error && answer.body.error.message) || 'That passkey did not work. Use your password instead.');
    } catch (err) {
      say(scope, 'That passkey did not work. Use your password instead.');
    }
  }

  document.addEventListener('click', (event) => {
    const button = event.target instanceof Element && event.target.closest('[data-passkey-confirm]');
    if (!button) return;
    event.preventDefault();
    confirmIt(button.closest('[data-passkey-scope]') || document);
  });

  /**
   * A two-step account's reset with a passkey instead of a code: the ceremony's answer goes into the
   * form as a hidden field, and the form is sent as usual (the reset link stays in its cookie).
   */
  async function resetWithPasskey(form, scope) {
    const password = form.elements.namedItem('new_password');
    if (password && !password.reportValidity()) return;
    try {
      const ceremony = await authenticate('/reset-password/passkey/options');
      if (!ceremony) return;
      let field = form.querySelector('input[name="passkey"]');
      if (!field) {
        field = document.createElement('input');
        field.type = 'hidden';
        field.name = 'passkey';
        form.append(field);
      }
      field.value = JSON.stringify(ceremony.response);
      // The passkey is the second factor: an empty code field is not sent beside it.
      const code = form.elements.namedItem('code');
      if (code) code.disabled = true;
      form.requestSubmit();
    } catch (err) {
      if (err instanceof NoOptions) say(scope, err.message || 'Could not start the passkey. Enter a code instead.');
      else say(scope, 'That passkey did not work. Try again, or enter a code.');
    }
  }

  document.addEventListener('click', (event) => {
    const button = event.target instanceof Element && event.target.closest('[data-passkey-reset]');
    if (!button) return;
    event.preventDefault();
    resetWithPasskey(button.closest('form'), button.closest('[data-passkey-scope]') || document);
  });

  document.addEventListener('submit', async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches('[data-passkey-add]')) return;
    event.preventDefault();
    const field = (name) => form.elements.namedItem(name);
    const value = (name) => (field(name) ? field(name).value : undefined);
    form.querySelector('button[type="submit"]').disabled = true;
    try {
      const options = await postJson('/api/users/me/passkeys/options', { current_password: value('current_password'), code: value('code') || undefined });
      if (!options.ok) {
        const fields = (options.body.error && options.body.error.fields) || {};
        say(form, Object.values(fields)[0] || (options.body.error && options.body.error.message) || 'Could not start adding a passkey.');
        return;
      }
      let response;
      try {
        response = await webauthn.startRegistration({ optionsJSON: options.body });
      } catch (err) {
        if (err && err.name === 'InvalidStateError') say(form, 'This device already has a passkey for your account.');
        else if (!quiet(err)) say(form, 'Your device could not make a passkey.');
        return;
      }
      const added = await postJson('/api/users/me/passkeys', { response, name: value('name') || undefined });
      if (added.ok) {
        window.location.assign('/account/security?notice=passkey_added');
        return;
      }
      say(form, (added.body.error && added.body.error.message) || 'The passkey could not be added.');
    } catch (err) {
      say(form, 'The passkey could not be added. Try again.');
    } finally {
      form.querySelector('button[type="submit"]').disabled = false;
    }
  });


  document.addEventListener('htmx:after:swap', reveal);

  async function start() {
    reveal();
    // The account's passkeys as the server knows them: the browser may hide ones removed here.
    const signals = document.querySelector('[data-passkey-signals]');
    if (signals && typeof PublicKeyCredential.signalAllAcceptedCredentials === 'function') {
      const ids = signals.dataset.credentialIds ? signals.dataset.credentialIds.split(',') : [];
      webauthn.sendSignal({ signalName: 'allAcceptedCredentials', rpID: signals.dataset.rpId, userID: signals.dataset.userId, allAcceptedCredentialIDs: ids }).catch(() => {});
    }
    // Autofill: only on a page with a field for it, where the browser offers conditional mediation.
    const field = document.querySelector('input[autocomplete~="webauthn"]');
    if (field && (await webauthn.browserSupportsWebAuthnAutofill())) signIn(document, true);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
