import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import pg from 'pg'
import { APP_ROLE, ensureAppRole, grantAppRoleToOwner } from '#database/rls'
import { recordAudit, verifyAuditChain } from '#platform'
import { ApiTokenFactory } from '#database/factories/api_token_factory'
import { Invitation, Tenant, withTenant } from '#tenants'
import { signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'

/** Two workspaces, each with a member and a pending invitation. */
async function twoTenants() {
  const make = async (name: string) => {
    const { owner, tenant } = await WorkspaceFactory.create({ name })
    const member = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: member.id,
      role: 'member',
    }).create()
    await Invitation.create({
      tenantId: tenant.id,
      email: `${randomUUID()}@example.test`,
      role: 'viewer',
      tokenHash: randomUUID().replace(/-/g, '').padEnd(64, '0'),
      expiresAt: DateTime.now().plus({ days: 7 }),
      lastSentAt: DateTime.now(),
      invitedBy: owner.id,
    })
    return { owner, tenant, userIds: [owner.id, member.id] }
  }
  return { a: await make('Alpha'), b: await make('Beta') }
}

/**
 * Every table the app role may read: each has row-level security on and is in the list of
 * tenant-scoped tables with a policy (a new table the role can read without a policy fails here).
 */
async function rlsTables(): Promise<string[]> {
  const { rows } = await db.rawQuery(
    `SELECT DISTINCT c.relname AS name FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
      WHERE c.relkind = 'r'
        AND (has_table_privilege(?, c.oid, 'SELECT')
          OR EXISTS (SELECT 1 FROM information_schema.column_privileges p
                      WHERE p.grantee = ? AND p.table_name = c.relname AND p.privilege_type = 'SELECT'))
      ORDER BY 1`,
    [APP_ROLE, APP_ROLE]
  )
  return rows.map((row: { name: string }) => row.name)
}

const tenantIds = (rows: { tenant_id: string }[]) => [...new Set(rows.map((row) => row.tenant_id))]

test.group('tenants / row-level security', () => {
  test('inside withTenant a query without any WHERE sees only that tenant', async ({ assert }) => {
    const { a, b } = await twoTenants()
    for (const table of ['memberships', 'invitations']) {
      const rows = await withTenant(
        a.tenant.id,
        async (trx) => (await trx.rawQuery(`SELECT * FROM ${table}`)).rows
      )
      assert.deepEqual(tenantIds(rows), [a.tenant.id], table)
      assert.isAtLeast(rows.length, 1, table)
      const other = await withTenant(
        b.tenant.id,
        async (trx) => (await trx.rawQuery(`SELECT * FROM ${table}`)).rows
      )
      assert.deepEqual(tenantIds(other), [b.tenant.id], table)
    }
    // Outside, the app's own connection is back to its login role and sees both.
    const after = (
      await db.rawQuery(
        `SELECT current_user AS role, current_setting('app.tenant_id', true) AS tenant`
      )
    ).rows[0]
    assert.notEqual(after.role, APP_ROLE)
    assert.oneOf(after.tenant, ['', null])
    const all = (
      await db.rawQuery('SELECT tenant_id FROM invitations WHERE tenant_id IN (?, ?)', [
        a.tenant.id,
        b.tenant.id,
      ])
    ).rows
    assert.sameMembers(tenantIds(all), [a.tenant.id, b.tenant.id])
  })

  test('as the app role with no tenant set, every tenant table shows zero rows', async ({
    assert,
  }) => {
    await twoTenants()
    // The catalog shows its platform rows to everyone: only tenant-owned ones must vanish.
    const tenantOwned: Record<string, string> = {
      providers: 'SELECT count(*)::int AS n FROM providers WHERE tenant_id IS NOT NULL',
      models: 'SELECT count(*)::int AS n FROM models WHERE tenant_id IS NOT NULL',
      model_prices: `SELECT count(*)::int AS n FROM model_prices p WHERE NOT EXISTS
        (SELECT 1 FROM models m WHERE m.id = p.model_id AND m.tenant_id IS NULL)`,
      // Plans are reference data with no tenant column: nothing of a tenant's to hide.
      plans: `SELECT count(*)::int AS n FROM information_schema.columns
        WHERE table_name = 'plans' AND column_name = 'tenant_id'`,
    }
    for (const table of await rlsTables()) {
      const rows = await db.transaction(async (trx) => {
        await trx.rawQuery(`SELECT set_config('role', ?, true)`, [APP_ROLE])
        const sql = tenantOwned[table] ?? `SELECT count(*)::int AS n FROM ${table}`
        return (await trx.rawQuery(sql)).rows
      })
      assert.equal(rows[0].n, 0, table)
    }
  })

  test("the policy also refuses writing another tenant's rows, and the app role cannot read secrets", async ({
    assert,
  }) => {
    const { a, b } = await twoTenants()
    await assert.rejects(() =>
      withTenant(a.tenant.id, (trx) =>
        trx.table('invitations').insert({
          tenant_id: b.tenant.id,
          email: 'x@example.test',
          role: 'viewer',
          token_hash: 'f'.repeat(64),
          expires_at: new Date(Date.now() + 60_000),
        })
      )
    )
    // A workspace's provider rows (and the platform's) are out of reach of another workspace.
    const provider = (tenantId: string) => ({
      tenant_id: tenantId,
      slug: `x${randomUUID().slice(0, 8)}`,
      name: 'Forged',
      kind: 'openai_compatible',
      base_url: 'https://example.test/v1',
    })
    await withTenant(a.tenant.id, (trx) => trx.table('providers').insert(provider(a.tenant.id)))
    await assert.rejects(
      () => withTenant(a.tenant.id, (trx) => trx.table('providers').insert(provider(b.tenant.id))),
      /row-level security/
    )
    const platformRenamed = await withTenant(a.tenant.id, (trx) =>
      trx.from('providers').whereNull('tenant_id').update({ name: 'Hijacked' })
    )
    assert.equal(Number(Array.isArray(platformRenamed) ? platformRenamed[0] : platformRenamed), 0)
    const tenantRenamed = await withTenant(a.tenant.id, (trx) =>
      trx.from('tenants').where('id', b.tenant.id).update({ name: 'Hijacked' })
    )
    assert.equal(Number(Array.isArray(tenantRenamed) ? tenantRenamed[0] : tenantRenamed), 0)
    const updated = await withTenant(a.tenant.id, (trx) =>
      trx.from('memberships').where('tenant_id', b.tenant.id).update({ role: 'viewer' })
    )
    assert.equal(Number(Array.isArray(updated) ? updated[0] : updated), 0)
    await assert.rejects(() =>
      withTenant(a.tenant.id, (trx) => trx.rawQuery('SELECT password FROM users LIMIT 1'))
    )
    await assert.rejects(() =>
      withTenant(a.tenant.id, (trx) =>
        trx.rawQuery('SELECT token_hash FROM auth_access_tokens LIMIT 1')
      )
    )
    const names = await withTenant(
      a.tenant.id,
      async (trx) => (await trx.rawQuery('SELECT name FROM users WHERE id = ?', [a.owner.id])).rows
    )
    assert.lengthOf(names, 1)
  })

  test('the members page works bound to its tenant (the default)', async ({ client, assert }) => {
    const { a, b } = await twoTenants()
    const web = await signedIn(client, a.owner)
    const page = await web.get(`/t/${a.tenant.slug}/members`)
    page.assertStatus(200)
    assert.include(page.text(), a.owner.email)
    assert.notInclude(page.text(), b.owner.email)
    assert.lengthOf(page.text().match(/data-testid="member-row"/g) ?? [], 2)
    assert.lengthOf(page.text().match(/data-testid="invitation-row"/g) ?? [], 1)
  })
})

test.group('tenants / connection pool reuse', () => {
  test('a pool of one connection alternating tenants never leaks app.tenant_id or the role', async ({
    assert,
    cleanup,
  }) => {
    const { a, b } = await twoTenants()
    cleanup(async () => {
      await Tenant.query().whereIn('id', [a.tenant.id, b.tenant.id]).delete()
      await db
        .from('users')
        .whereIn('id', [...a.userIds, ...b.userIds])
        .delete()
    })
    const name = `tenants_pool_of_one_${randomUUID().slice(0, 8)}`
    const base = db.getRawConnection(db.primaryConnectionName)!.config
    db.manager.add(name, { ...base, pool: { min: 0, max: 1 } })
    cleanup(() => db.manager.close(name, true))
    const client = db.connection(name)
    const state = async () =>
      (
        await client.rawQuery(
          `SELECT current_user AS role, current_setting('app.tenant_id', true) AS tenant`
        )
      ).rows[0]
    const seen = (tenantId: string) =>
      withTenant(
        tenantId,
        async (trx) => tenantIds((await trx.rawQuery('SELECT tenant_id FROM invitations')).rows),
        { client }
      )

    for (let round = 0; round < 6; round++) {
      const tenant = round % 2 ? b.tenant : a.tenant
      assert.deepEqual(await seen(tenant.id), [tenant.id], `round ${round}`)
      const after = await state()
      assert.notEqual(after.role, APP_ROLE, `round ${round}`)
      assert.oneOf(after.tenant, ['', null], `round ${round}`)
    }
    // A transaction that fails and rolls back leaks nothing either.
    await assert.rejects(() =>
      withTenant(a.tenant.id, (trx) => trx.rawQuery('SELECT 1 / 0'), { client })
    )
    assert.oneOf((await state()).tenant, ['', null])
    // Two at once on one connection: they queue, and each sees its own tenant.
    const [first, second] = await Promise.all([seen(a.tenant.id), seen(b.tenant.id)])
    assert.deepEqual(first, [a.tenant.id])
    assert.deepEqual(second, [b.tenant.id])
    // And the connection, back in the pool, sees nothing as the app role with no tenant.
    const unbound = await client.transaction(async (trx) => {
      await trx.rawQuery(`SELECT set_config('role', ?, true)`, [APP_ROLE])
      return (await trx.rawQuery('SELECT * FROM invitations')).rows
    })
    assert.lengthOf(unbound, 0)
  }).tags(['@committed'])
})

test.group('tenants / row-level security on every table the app role reads', () => {
  test('each such table has RLS on and a policy for the app role', async ({ assert }) => {
    const tables = await rlsTables()
    for (const expected of [
      'tenants',
      'users',
      'audit_events',
      'idempotency_keys',
      'auth_access_tokens',
      'model_prices',
      'runs',
      'ledger_entries',
    ])
      assert.include(tables, expected)
    const { rows } = await db.rawQuery(
      `SELECT c.relname AS name, c.relrowsecurity AS rls,
              EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = c.relname
                       AND ? = ANY (p.roles)) AS policy
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
        WHERE c.relname = ANY (?)`,
      [APP_ROLE, tables]
    )
    for (const row of rows) {
      assert.isTrue(row.rls, `${row.name}: row-level security is off`)
      assert.isTrue(row.policy, `${row.name}: no policy for ${APP_ROLE}`)
    }
  })

  test('bound to a tenant, the app role sees only that tenant in every table', async ({
    assert,
  }) => {
    const { a, b } = await twoTenants()
    await recordAudit({ action: 'test.rls', tenantId: b.tenant.id, actorLabel: 'test' })
    await recordAudit({ action: 'test.rls', tenantId: a.tenant.id, actorLabel: 'test' })
    await ApiTokenFactory.create(b.owner, b.tenant.id)
    await withTenant(a.tenant.id, async (trx) => {
      const tenants = (await trx.rawQuery('SELECT id FROM tenants')).rows
      assert.deepEqual(
        tenants.map((row: { id: string }) => row.id),
        [a.tenant.id]
      )
      const users = (await trx.rawQuery('SELECT id FROM users')).rows
      assert.sameMembers(
        users.map((row: { id: string }) => row.id),
        a.userIds
      )
      const audit = (await trx.rawQuery('SELECT tenant_id FROM audit_events')).rows
      assert.deepEqual(tenantIds(audit), [a.tenant.id])
      const tokens = (await trx.rawQuery('SELECT tenant_id FROM auth_access_tokens')).rows
      assert.lengthOf(tokens, 0)
    })
    // Appending to the audit chain from inside a tenant transaction keeps the chain whole.
    await withTenant(a.tenant.id, (trx) =>
      recordAudit({ action: 'test.rls.inside', tenantId: a.tenant.id, actorLabel: 'test' }, trx)
    )
    assert.deepEqual(await verifyAuditChain(), [])
    await assert.rejects(() =>
      withTenant(a.tenant.id, (trx) =>
        recordAudit({ action: 'test.rls.forged', tenantId: b.tenant.id, actorLabel: 'x' }, trx)
      )
    )
  })

  test('a role that is not a superuser can assume the app role after the migrations grant it', async ({
    assert,
    cleanup,
  }) => {
    if (!process.env.DATABASE_URL) return // the embedded database has a single superuser
    const owner = `agora_owner_probe_${randomUUID().slice(0, 8)}`
    await db.rawQuery(`CREATE ROLE ${owner} LOGIN NOSUPERUSER CREATEROLE`)
    cleanup(() => db.rawQuery(`DROP ROLE IF EXISTS ${owner}`))
    const url = new URL(process.env.DATABASE_URL)
    url.username = owner
    const probe = new pg.Client({ connectionString: url.toString() })
    await probe.connect()
    cleanup(() => probe.end())
    // What the migrations run as the owner: create the role if missing, then grant it to self.
    await probe.query(ensureAppRole())
    await probe.query(grantAppRoleToOwner())
    await probe.query('BEGIN')
    await probe.query(`SELECT set_config('role', '${APP_ROLE}', true)`)
    const { rows } = await probe.query('SELECT current_user AS role')
    await probe.query('ROLLBACK')
    assert.equal(rows[0].role, APP_ROLE)
    await db.rawQuery(`REVOKE ${APP_ROLE} FROM ${owner}`)
  }).tags(['@committed'])
})

test.group('tenants / reads bound to the tenant per request', () => {
  /** SQL sent to the database while `fn` runs, in order. */
  async function sqlDuring(fn: () => Promise<unknown>) {
    const sent: string[] = []
    const knex = db.connection().getWriteClient()
    const listener = (query: { sql: string }) => sent.push(query.sql)
    knex.on('query', listener)
    try {
      await fn()
    } finally {
      knex.off('query', listener)
    }
    return sent
  }

  test('an API read and a tenant page run in one transaction whose BEGIN binds the tenant', async ({
    client,
    assert,
    cleanup,
  }) => {
    const { owner, tenant, token } = await WorkspaceFactory.create({ token: true })
    cleanup(async () => {
      await Tenant.query().where('id', tenant.id).delete()
      await db.from('users').where('id', owner.id).delete()
    })
    const web = await signedIn(client, owner)
    for (const request of [
      () => client.get('/api/v1/agents').bearerToken(token),
      () => web.get(`/t/${tenant.slug}/agents`),
    ]) {
      let status = 0
      const sent = await sqlDuring(async () => {
        status = (await request()).status()
      })
      assert.equal(status, 200)
      const begin = sent.findIndex((sql) =>
        sql.startsWith(`BEGIN; SELECT set_config('app.tenant_id', '${tenant.id}', true)`)
      )
      assert.isAtLeast(begin, 0, 'the request opened a tenant-bound transaction')
      const agents = sent.findIndex((sql, index) => index > begin && /from "agents"/.test(sql))
      const commit = sent.findIndex((sql, index) => index > begin && /^COMMIT/.test(sql))
      assert.isAbove(agents, begin)
      assert.isAbove(commit, agents, 'the agents were read inside it')
    }
  }).tags(['@committed'])

  test('TENANT_RLS=off leaves reads to app-level scoping', async ({ client, assert, cleanup }) => {
    const { owner, tenant, token } = await WorkspaceFactory.create({ token: true })
    const previous = process.env.TENANT_RLS
    process.env.TENANT_RLS = 'off'
    cleanup(async () => {
      if (previous === undefined) delete process.env.TENANT_RLS
      else process.env.TENANT_RLS = previous
      await Tenant.query().where('id', tenant.id).delete()
      await db.from('users').where('id', owner.id).delete()
    })
    const sent = await sqlDuring(() => client.get('/api/v1/agents').bearerToken(token))
    assert.isFalse(sent.some((sql) => sql.includes('set_config')))
  }).tags(['@committed'])
})
