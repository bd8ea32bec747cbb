// Ends the run with one plain line CI can read, and says how many tests ran on each database.
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const count = { passed: 0, failed: 0, skipped: 0, sqlite: 0, postgres: 0 };
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') count.passed++;
        else if (state === 'failed') count.failed++;
        else count.skipped++;
        if (state === 'passed' && / on sqlite\b/.test(test.fullName)) count.sqlite++;
        if (state === 'passed' && / on postgres\b/.test(test.fullName)) count.postgres++;
      }
    }
    console.log(`\n[inkwell] passed on SQLite: ${count.sqlite}; passed on Postgres: ${count.postgres}`);
    console.log(`tests: ${count.passed} passed, ${count.failed} failed, ${count.skipped} skipped`);
  }
}
