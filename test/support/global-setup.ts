// Starts one throwaway PostgreSQL cluster for the whole run, when PostgreSQL is installed,
// and says whether the browser tests can run.
import type { TestProject } from 'vitest/node';
import { CHROMIUM, chromiumInstalled } from './browser.ts';
import { postgresAvailable, startCluster, type Cluster } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the test cluster, or '' when Postgres tests are skipped. */
    postgresUrl: string;
    /** Whether headless Chromium is installed for the browser tests. */
    browser: boolean;
  }
}

export default async function setup(project: TestProject) {
  if (chromiumInstalled()) {
    project.provide('browser', true);
    console.log(`[inkwell] Browser: headless Chromium at ${CHROMIUM}; the account journey runs with and without JavaScript.`);
  } else if (process.env.REQUIRE_BROWSER === '1') {
    throw new Error(`REQUIRE_BROWSER=1 but Chromium was not found at ${CHROMIUM} (apt-get install chromium).`);
  } else {
    project.provide('browser', false);
    console.log(`[inkwell] Browser: SKIPPED — Chromium not found at ${CHROMIUM}; the browser tests did not run.`);
  }

  const required = process.env.REQUIRE_POSTGRES === '1';
  let cluster: Cluster | undefined;
  if (process.env.TEST_POSTGRES_URL) {
    project.provide('postgresUrl', process.env.TEST_POSTGRES_URL);
  } else if (postgresAvailable()) {
    cluster = await startCluster();
    project.provide('postgresUrl', cluster.url);
    console.log(`[inkwell] Postgres: throwaway cluster at ${cluster.url.replace(/^.*@/, '')}; every database test runs on SQLite and Postgres.`);
  } else if (required) {
    throw new Error('REQUIRE_POSTGRES=1 but no PostgreSQL binaries were found (set PG_BIN or install postgresql).');
  } else {
    project.provide('postgresUrl', '');
    console.log('[inkwell] Postgres: SKIPPED — PostgreSQL binaries not found; database tests run on SQLite only.');
  }
  return () => cluster?.stop();
}
