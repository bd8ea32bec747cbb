// `npm install` runs on whatever Node the machine has (often 20); every `npm run` uses the Node 24
// the project installs as a dev dependency. The project's own `engines` must not warn there.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
const major = (version: string) => Number(/\d+/.exec(version)![0]);

describe('engines', () => {
  it('the project accepts the Node 20 that runs npm install, and brings Node 24 to run itself', () => {
    const range: string = pkg.engines.node;
    expect(range).toMatch(/^>=\s*\d+/);
    expect(major(range)).toBeLessThanOrEqual(20);
    expect(major(pkg.devDependencies.node)).toBeGreaterThanOrEqual(24);
    expect(major(process.versions.node)).toBeGreaterThanOrEqual(24);
  });
});
