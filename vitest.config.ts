import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Sized for a busy machine (one core taken by something else, the other shared with Postgres,
    // Chromium and the other worker's argon2): a deadline only has to catch a hang, never a slow run.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // expect.poll gives up after 1 s by default: far too soon for Chromium on a busy machine.
    expect: { poll: { timeout: 60_000 } },
    // Test files share two cores with Postgres, argon2 and Chromium.
    maxWorkers: 2,
  },
});
