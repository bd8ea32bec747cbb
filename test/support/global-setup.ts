// Starts one throwaway PostgreSQL cluster for the whole run, when PostgreSQL is installed.
import type { TestProject } from 'vitest/node';
import { postgresAvailable, startCluster, type Cluster } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the test cluster, or '' when Postgres tests are skipped. */
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject) {
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
