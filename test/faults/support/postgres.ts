/**
 * The PostgreSQL server of the fault tests, and dropping the tables a test's
 * task-managers created under their unique prefix.
 * @module
 */
import pg from 'pg';

/** The test database (trust auth on this project's machines; override with SJE_TEST_POSTGRES_URL). */
export const TEST_POSTGRES_URL = process.env['SJE_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Drops every table whose name starts with `prefix` (e.g. `ft_1a2b3c4d_`). Returns the names dropped. */
export async function dropTables(prefix: string, url = TEST_POSTGRES_URL): Promise<string[]> {
  if (!/^[a-z0-9_]+$/.test(prefix)) throw new Error(`unsafe table prefix '${prefix}'`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND starts_with(tablename, $1)",
      [prefix],
    );
    const names = rows.map((r) => r.tablename);
    if (names.length > 0) await client.query(`DROP TABLE IF EXISTS ${names.map((n) => `"${n}"`).join(', ')} CASCADE`);
    return names;
  } finally {
    await client.end();
  }
}

/** Whether the test database answers. */
export async function postgresAvailable(url = TEST_POSTGRES_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
