import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { APP_ROLE } from '#database/rls'
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

  test('as the app role with no tenant set, the query fails closed', async ({ assert }) => {
    await twoTenants()
    for (const table of ['memberships', 'invitations']) {
      await assert.rejects(() =>
        db.transaction(async (trx) => {
          await trx.rawQuery(`SELECT set_config('role', ?, true)`, [APP_ROLE])
          return trx.rawQuery(`SELECT * FROM ${table}`)
        })
      )
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

  test('the members page works the same with RLS per request (TENANT_RLS=request)', async ({
    client,
    assert,
    cleanup,
  }) => {
    const { a, b } = await twoTenants()
    const previous = process.env.TENANT_RLS
    process.env.TENANT_RLS = 'request'
    cleanup(() => {
      if (previous === undefined) delete process.env.TENANT_RLS
      else process.env.TENANT_RLS = previous
    })
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
    // And the connection, back in the pool, fails closed as the app role with no tenant.
    await assert.rejects(() =>
      client.transaction(async (trx) => {
        await trx.rawQuery(`SELECT set_config('role', ?, true)`, [APP_ROLE])
        return trx.rawQuery('SELECT * FROM invitations')
      })
    )
  }).tags(['@committed'])
})
