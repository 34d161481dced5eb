import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { purgeExpiredRunContent } from '#agents'
import { Tenant } from '#tenants'
import { signedIn } from '#tests/helpers/session'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

const echo = { name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' }

async function workspaceWithRuns(client: any, retention: number | null) {
  const made = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
  await Tenant.query().where('id', made.tenant.id).update({ run_retention_days: retention })
  await client.post('/api/v1/agents').bearerToken(made.token).json(echo)
  const run = async (input: string) => {
    const response = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(made.token)
      .json({ input })
    response.assertStatus(201)
    return response.body()
  }
  const old = await run('an old secret')
  const recent = await run('a recent question')
  await db
    .from('runs')
    .where('id', old.id)
    .update({ created_at: new Date(Date.now() - 31 * 86_400_000) })
  return { ...made, old, recent }
}

test.group('agents / retention of run inputs and outputs', () => {
  test('runs older than the workspace keeps them lose their content, not their usage, cost or ledger', async ({
    client,
    assert,
  }) => {
    const { tenant, token, old, recent } = await workspaceWithRuns(client, 30)
    const ledgerBefore = await db
      .from('ledger_entries')
      .where('tenant_id', tenant.id)
      .count('* as n')
    const outcomes = await purgeExpiredRunContent()
    assert.deepInclude(outcomes, { tenantId: tenant.id, slug: tenant.slug, runs: 1 })

    const erased = await db.from('runs').where('id', old.id).first()
    assert.equal(erased.input, '')
    assert.equal(erased.output, '')
    assert.isNotNull(erased.content_purged_at)
    assert.equal(erased.status, 'succeeded')
    assert.equal(erased.input_tokens, old.usage.input_tokens)
    assert.equal(String(erased.cost_micros), String(Math.round(Number(old.cost_credits) * 1e6)))
    for (const step of await db.from('run_steps').where('run_id', old.id)) {
      assert.isNull(step.input)
      assert.isNull(step.output)
    }
    assert.lengthOf(await db.from('run_events').where('run_id', old.id), 0)
    const shown = await client.get(`/api/v1/runs/${old.id}`).bearerToken(token)
    assert.equal(shown.body().input, '')
    assert.equal(shown.body().cost_credits, old.cost_credits)

    const kept = await db.from('runs').where('id', recent.id).first()
    assert.equal(kept.input, 'a recent question')
    assert.isNull(kept.content_purged_at)
    assert.isAbove((await db.from('run_events').where('run_id', recent.id)).length, 0)
    assert.deepEqual(
      await db.from('ledger_entries').where('tenant_id', tenant.id).count('* as n'),
      ledgerBefore
    )
    // Again: nothing more to do.
    assert.notDeepInclude(await purgeExpiredRunContent(), {
      tenantId: tenant.id,
      slug: tenant.slug,
      runs: 1,
    })
  })

  test('a workspace that keeps runs forever keeps them', async ({ client, assert }) => {
    const { old } = await workspaceWithRuns(client, null)
    await purgeExpiredRunContent()
    assert.equal((await db.from('runs').where('id', old.id).first()).input, 'an old secret')
  })

  test('owners choose the retention on the settings page; anything but 30, 90, 365 or forever is refused', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const web = await signedIn(client, owner)
    await web.get(`/t/${tenant.slug}/settings`)
    await web.submit('PUT', `/t/${tenant.slug}/settings`, {
      name: tenant.name,
      timeZone: 'UTC',
      runRetention: '90',
    })
    assert.equal((await Tenant.findOrFail(tenant.id)).runRetentionDays, 90)
    await web.submit('PUT', `/t/${tenant.slug}/settings`, {
      name: tenant.name,
      timeZone: 'UTC',
      runRetention: '7',
    })
    assert.equal((await Tenant.findOrFail(tenant.id)).runRetentionDays, 90)
    await web.submit('PUT', `/t/${tenant.slug}/settings`, {
      name: tenant.name,
      timeZone: 'UTC',
      runRetention: 'forever',
    })
    assert.isNull((await Tenant.findOrFail(tenant.id)).runRetentionDays)
    const audit = await db
      .from('audit_events')
      .where('tenant_id', tenant.id)
      .where('action', 'tenants.tenant.updated')
      .orderBy('id')
    assert.deepEqual(audit.at(-1).changes.runRetentionDays, [90, null])
  })
})
