// The mailer against real TLS mail servers: SMTP_URL's scheme picks the encryption, its user info the login.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError } from '../src/log.ts';
import { Mailer } from '../src/mail/mailer.ts';
import { PATIENCE_MS } from './support/net.ts';

type Received = { mail: ParsedMail; secure: boolean; user: string | undefined };

describe('Mailer over TLS', () => {
  let tls: { key: Buffer; cert: Buffer };
  beforeAll(() => {
    // A throwaway self-signed certificate, made for this run.
    const dir = mkdtempSync(join(tmpdir(), 'inkwell-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    rmSync(dir, { recursive: true });
  });

  const servers: SMTPServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(() => resolve(undefined)))));
  });

  /** A mail server that requires a login and records whether each message came over TLS. */
  async function server(secure: boolean): Promise<{ port: number; received: Received[] }> {
    const received: Received[] = [];
    const smtp = new SMTPServer({
      ...tls,
      secure,
      logger: false,
      closeTimeout: 100,
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, _session, callback) {
        if (auth.username === 'ink@well' && auth.password === 'p:ss/word') return callback(null, { user: auth.username });
        callback(new Error('invalid credentials'));
      },
      onData(stream, session, callback) {
        simpleParser(stream).then((mail) => {
          received.push({ mail, secure: session.secure, user: session.user as string | undefined });
          callback();
        }, callback);
      },
    });
    servers.push(smtp);
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
    return { port: (smtp.server.address() as { port: number }).port, received };
  }

  /** Sends one message; returns what the job runner would log of the failure, if any. */
  async function send(smtpUrl: string): Promise<string | null> {
    const mailer = new Mailer({ smtpUrl, from: 'Inkwell <no-reply@inkwell.test>' });
    try {
      await mailer.send({ to: 'reader@example.com', subject: 'Hello', text: 'Plain text', html: '<p>HTML</p>' });
      return null;
    } catch (err) {
      return JSON.stringify(describeError(err));
    } finally {
      mailer.close();
    }
  }

  // Percent-encoded user info: '@', ':' and '/' in credentials must survive the URL.
  const credentials = 'ink%40well:p%3Ass%2Fword';

  it('smtps:// speaks TLS from the first byte and logs in with the URL\u2019s credentials', async () => {
    const { port, received } = await server(true);
    expect(await send(`smtps://${credentials}@127.0.0.1:${port}?tls.rejectUnauthorized=false`)).toBeNull();
    expect(received).toHaveLength(1);
    expect(received[0].secure).toBe(true);
    expect(received[0].user).toBe('ink@well');
    expect(received[0].mail.subject).toBe('Hello');
  });

  it('smtp:// upgrades with STARTTLS when the server offers it', async () => {
    const { port, received } = await server(false);
    expect(await send(`smtp://${credentials}@127.0.0.1:${port}?tls.rejectUnauthorized=false`)).toBeNull();
    expect(received).toHaveLength(1);
    expect(received[0].secure).toBe(true);
    expect(received[0].user).toBe('ink@well');
  });

  it('wrong credentials are a failure whose logged description holds no password', async () => {
    const { port, received } = await server(true);
    const failure = await send(`smtps://ink%40well:wrong-secret@127.0.0.1:${port}?tls.rejectUnauthorized=false`);
    expect(received).toHaveLength(0);
    expect(failure).toContain('EAUTH');
    expect(failure).not.toContain('wrong-secret');
  });
});
