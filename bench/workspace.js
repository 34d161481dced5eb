/*
 * The scratch database and workspace the page benchmarks share (bench:rls, bench:pages,
 * bench:exports): recreated from scratch, migrated, an owner and a workspace made with
 * `node ace` (credits and an API token), optionally 19 more members with 5 invitations and the
 * `items` table of ../shared/bench-baselines/page.cjs; and a login through the real form.
 */
import { spawnSync } from 'node:child_process'
import { formLogin, log, NODE, requireFromProject, ROOT } from './support.js'

export const OWNER_EMAIL = 'bench-owner@example.test'
export const OWNER_PASSWORD = 'a long benchmark passphrase'

const pg = requireFromProject('pg')

/** DATABASE_URL's server with another database (and optionally another user). */
export function databaseUrl(database, user, password) {
  const url = new URL(process.env.DATABASE_URL)
  url.pathname = `/${database}`
  if (user) url.username = user
  if (password !== undefined) url.password = password
  return url.toString()
}

/** One statement on a fresh connection. */
export async function query(url, sql, values) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await client.query(sql, values)
  } finally {
    await client.end()
  }
}

function ace(args, env) {
  const result = spawnSync(NODE, ['ace', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  })
  if (result.status !== 0)
    throw new Error(`node ace ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`)
  return result.stdout.trim()
}

/**
 * Recreates `database`, migrates it and makes the owner's workspace `slug` with credits and an
 * API token; `members` adds 19 members and 5 pending invitations, `items` the baseline's table
 * (500 tenants × 200 rows under a tenant policy). Returns the tenant id and the token.
 */
export async function prepareWorkspace({ database, appKey, slug, reason, members, items }) {
  log(`recreating database ${database}`)
  await query(databaseUrl('postgres'), `DROP DATABASE IF EXISTS ${database}`)
  await query(databaseUrl('postgres'), `CREATE DATABASE ${database}`)
  const url = databaseUrl(database)
  const env = { DATABASE_URL: url, APP_KEY: appKey, NODE_ENV: 'production', LOG_LEVEL: 'warn' }
  ace(['migration:run', '--force', '--no-schema-generate', '--compact-output'], env)
  ace(['user:create', OWNER_EMAIL, `--password=${OWNER_PASSWORD}`, '--name=Bench Owner'], env)
  const tenantId = ace(
    ['tenant:create', slug, '--name=Bench Workspace', `--owner=${OWNER_EMAIL}`],
    env
  )
  ace(['credits:grant', slug, '100000000', `--reason=${reason}`], env)
  const token = ace(['token:create', OWNER_EMAIL, `--tenant=${slug}`], env)
    .split('\n')
    .pop()
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    if (members) {
      // They never log in: any hash will do.
      await client.query(
        `WITH people AS (
           INSERT INTO users (email, name, password, time_zone)
           SELECT 'member' || i || '@example.test', 'Member ' || i, 'not-a-login', 'UTC'
             FROM generate_series(1, 19) AS i
           RETURNING id
         )
         INSERT INTO memberships (tenant_id, user_id, role)
         SELECT $1, id, (ARRAY['admin', 'member', 'viewer'])[1 + (row_number() OVER ()) % 3]
           FROM people`,
        [tenantId]
      )
      await client.query(
        `INSERT INTO invitations (tenant_id, email, role, token_hash, expires_at)
         SELECT $1, 'invitee' || i || '@example.test', 'member',
                md5('bench' || i) || md5('hash' || i), now() + interval '7 days'
           FROM generate_series(1, 5) AS i`,
        [tenantId]
      )
    }
    if (items) {
      await client.query(`
        CREATE TABLE items (tenant_id int, id bigint, title text, created_at timestamptz, PRIMARY KEY (tenant_id, id));
        INSERT INTO items SELECT t, i, 'Item ' || i || ' of tenant ' || t, now() - i * interval '1 minute'
          FROM generate_series(1, 500) t, generate_series(1, 200) i;
        ALTER TABLE items ENABLE ROW LEVEL SECURITY;
        CREATE POLICY items_tenant ON items USING (tenant_id = current_setting('app.tenant_id')::int);
        ANALYZE items;`)
    }
    await client.query('ANALYZE')
  } finally {
    await client.end()
  }
  return { tenantId, token }
}

/** Logs the owner in through the real form (CSRF included); returns the cookie header. */
export function login(base) {
  return formLogin(base, OWNER_EMAIL, OWNER_PASSWORD)
}
