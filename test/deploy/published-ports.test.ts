// The deployment examples publish ports on loopback only (issue 18, item 12): with TRUST_PROXY set, a
// client that reaches the app's port directly, past the proxy, would choose its own X-Forwarded-For
// (and so its own rate-limit bucket and logged address).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** Every `-p`/`--publish` value of every `docker run` in a Markdown file (continuation lines joined). */
function dockerRunPublishes(markdown: string): string[] {
  const commands = markdown.replace(/\\\n\s*/g, ' ').split('\n').filter((line) => /\bdocker run\b/.test(line));
  return commands.flatMap((command) => [...command.matchAll(/(?:^|\s)(?:-p|--publish)[\s=]+(\S+)/g)].map((m) => m[1]));
}

/** The entries of every `ports:` list in compose.yaml. */
function composePorts(yaml: string): { service: string; published: string }[] {
  const found: { service: string; published: string }[] = [];
  let service = '';
  let inPorts = false;
  for (const line of yaml.split('\n')) {
    const serviceHeader = /^ {2}([\w-]+):\s*$/.exec(line);
    if (serviceHeader) [service, inPorts] = [serviceHeader[1], false];
    else if (/^ {4}ports:\s*$/.test(line)) inPorts = true;
    else if (inPorts && /^ {6}- /.test(line)) found.push({ service, published: line.replace(/^ {6}- /, '').replace(/["']/g, '').trim() });
    else if (/^ {4}\S/.test(line)) inPorts = false;
  }
  return found;
}

const onLoopback = (spec: string) => /^(127\.0\.0\.1|\[::1\]):/.test(spec);

describe('published ports', () => {
  it('compose.yaml publishes only on loopback, and never the app itself (only its proxy reaches it)', () => {
    const ports = composePorts(read('compose.yaml'));
    expect(ports.length).toBeGreaterThan(0);
    for (const { service, published } of ports) expect(onLoopback(published), `${service}: ${published}`).toBe(true);
    expect(ports.filter((p) => p.service === 'app')).toEqual([]);
  });

  it('the deployment guide\'s docker run publishes on loopback only', () => {
    const published = dockerRunPublishes(read('docs/deploying.md'));
    expect(published.length).toBeGreaterThan(0);
    for (const spec of published) expect(onLoopback(spec), spec).toBe(true);
  });
});
