import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { keysetRows } from '#core'
import { Invitation, Tenant } from '#tenants'
import { exportChunks, tenantExportSections } from '#tenants/services/export'
import TenantExport from '#tenants/commands/tenant_export'
import TenantPurge from '#tenants/commands/tenant_purge'
import { createProvider, addModel } from '#agents/actions/manage_providers'
import { runCommand } from '#tests/helpers/ace'
import { fakeMail } from '#tests/helpers/mail'
import { runAgoraToExit } from '#tests/helpers/processes'
import { signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { AgentFactory } from '#database/factories/agent_factory'

/**
 * Tables whose rows belong to a tenant without a `tenant_id` column of their own, with the
 * parent table that carries it. A new such table belongs here AND in an export section.
 */
const REACHED_THROUGH_PARENT: Record<string, string> = { model_prices: 'models' }

/** Every table with a `tenant_id` column, from the migrated schema itself. */
async function tenantTables() {
  const result = await db.rawQuery(
    `SELECT DISTINCT c.table_name FROM information_schema.columns c
     JOIN information_schema.tables t USING (table_schema, table_name)
     WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id'
       AND t.table_type = 'BASE TABLE'
     ORDER BY c.table_name`
  )
  return (result.rows as { table_name: string }[]).map((row) => row.table_name)
}

/** table → the section carrying its rows, as the modules registered them. */
function sectionOfTable() {
  const map = new Map<string, string>()
  for (const section of tenantExportSections())
    for (const table of section.tables) map.set(table, section.name)
  return map
}

const echo = { name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' }

/**
 * A workspace using every module: members, an invitation, an API token, an agent run in a
 * thread (with an idempotency key), the ledger, a provider with a key and a secret header,
 * analytics rollups, and the audit rows all of that wrote.
 */
async function busyWorkspace(client: any, name: string) {
  const { owner, tenant, token } = await WorkspaceFactory.create({
    name,
    grant: 10_000_000n,
    token: true,
  })
  const member = await UserFactory.merge({ name: `${name} Member` }).create()
  await MembershipFactory.merge({ tenantId: tenant.id, userId: member.id, role: 'member' }).create()
  const web = await signedIn(client, owner)
  await web.submit('POST', `/t/${tenant.slug}/invitations`, {
    email: `invitee-${randomUUID().slice(0, 6)}@example.test`,
    role: 'viewer',
  })
  ;(await client.post('/api/v1/agents').bearerToken(token).json(echo)).assertStatus(201)
  const thread = await client
    .post('/api/v1/threads')
    .bearerToken(token)
    .json({ title: `${name} thread` })
  thread.assertStatus(201)
  const input = `${name} says hello ${randomUUID()}`
  const run = await client
    .post('/api/v1/agents/echo/runs')
    .bearerToken(token)
    .header('idempotency-key', `export-${randomUUID()}`)
    .json({ input, thread_id: thread.body().id })
  run.assertStatus(201)
  const secrets = {
    apiKey: `sk-${name.toLowerCase()}-${randomUUID()}`,
    header: `hdr-${randomUUID()}`,
  }
  const provider = await createProvider({
    tenantId: tenant.id,
    actorId: owner.id,
    slug: `p-${randomUUID().slice(0, 8)}`,
    name: `${name} provider`,
    kind: 'openai_compatible',
    baseUrl: 'https://llm.example.test/v1',
    apiKey: secrets.apiKey,
    settings: {
      headers: { 'X-Org-Secret': secrets.header },
      max_tokens_field: 'max_completion_tokens',
    },
  })
  await addModel(provider, {
    actorId: owner.id,
    name: `${provider.slug}/m`,
    contextWindow: 1000,
    inputPriceMicros: 1n,
    outputPriceMicros: 2n,
  })
  const { flushProjections } = await import('#analytics')
  await flushProjections()
  return { owner, member, tenant, token, web, run: run.body(), input, secrets, provider }
}

test.group('tenants / export: completeness', () => {
  test('every table holding tenant rows is carried by a registered export section', async ({
    assert,
  }) => {
    const tables = await tenantTables()
    assert.isAbove(tables.length, 10)
    const sections = sectionOfTable()
    for (const table of tables) {
      assert.isTrue(
        sections.has(table),
        `${table} has a tenant_id column but no export section carries it: register one ` +
          `(registerTenantExport) from its module's export file`
      )
    }
    for (const [table, parent] of Object.entries(REACHED_THROUGH_PARENT)) {
      assert.include(tables, parent, `${table}'s parent ${parent} carries tenant_id`)
      assert.isTrue(sections.has(table), `${table} (tenant rows through ${parent}) is exported`)
    }
    // No section claims a table that is gone (a renamed table must be renamed here too).
    const existing = new Set(
      (
        await db.rawQuery(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
        )
      ).rows.map((row: { table_name: string }) => row.table_name)
    )
    for (const table of sections.keys()) assert.isTrue(existing.has(table), `${table} exists`)
  })
})

test.group('tenants / export: paging', () => {
  test('keyset pages return every row once: composite keys with microseconds, and whole buckets', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    // Seven runs a microsecond apart (and two at the same instant): JS dates would lose them.
    await db.rawQuery(
      `INSERT INTO runs (tenant_id, status, input, created_at)
       SELECT ?, 'succeeded', 'x', timestamp with time zone '2030-01-01 00:00:00.000001+00'
              + (least(i, 6) * interval '1 microsecond')
       FROM generate_series(1, 7) AS i`,
      [tenant.id]
    )
    const collect = async (rows: AsyncIterable<Record<string, unknown>>) => {
      const all = []
      for await (const row of rows) all.push(row)
      return all
    }
    const runs = await collect(
      keysetRows(() => db.from('runs').where('tenant_id', tenant.id).select('id'), {
        key: ['created_at', 'id'],
        pageSize: 2,
      })
    )
    assert.lengthOf(runs, 7)
    assert.lengthOf(new Set(runs.map((row) => row.id)), 7)
    assert.deepEqual(Object.keys(runs[0]), ['id'])

    // Three hours with three rows each, read two rows a page: every bucket arrives whole, once.
    await db.rawQuery(
      `INSERT INTO usage_hourly (tenant_id, hour, model, runs)
       SELECT ?, timestamp with time zone '2030-01-01 00:00+00' + h * interval '1 hour',
              CASE m WHEN 0 THEN NULL ELSE 'm' || m END, 1
       FROM generate_series(0, 2) AS h, generate_series(0, 2) AS m`,
      [tenant.id]
    )
    const hourly = await collect(
      keysetRows(
        () => db.from('usage_hourly').where('tenant_id', tenant.id).select('hour', 'model'),
        { key: ['hour'], grouped: true, within: ['model'], pageSize: 2 }
      )
    )
    assert.lengthOf(hourly, 9)
    assert.lengthOf(
      new Set(hourly.map((row) => `${new Date(row.hour as string).toISOString()} ${row.model}`)),
      9
    )
  })
})

test.group('tenants / export: memberships', () => {
  test('a workspace larger than a page exports every membership once, with email and name', async ({
    assert,
  }) => {
    const { tenant, owner } = await WorkspaceFactory.create()
    const tag = randomUUID().slice(0, 8)
    await db.rawQuery(
      `WITH made AS (
         INSERT INTO users (email, name, password)
         SELECT 'x' || i || '-' || ? || '@example.com', 'Person ' || i, ? FROM generate_series(1, 600) AS i
         RETURNING id)
       INSERT INTO memberships (tenant_id, user_id, role) SELECT ?, id, 'member' FROM made`,
      [tag, owner.password, tenant.id]
    )
    let text = ''
    for await (const chunk of exportChunks(tenant)) text += chunk
    const memberships: Record<string, string>[] = JSON.parse(text).memberships
    assert.lengthOf(memberships, 601)
    assert.lengthOf(new Set(memberships.map((m) => m.id)), 601)
    assert.deepEqual(
      memberships.map((m) => m.id),
      memberships.map((m) => m.id).sort(),
      'in id order'
    )
    const x42 = memberships.find((m) => m.email === `x42-${tag}@example.com`)
    assert.equal(x42?.name, 'Person 42')
    assert.include(
      memberships.find((m) => m.user_id === owner.id),
      { email: owner.email }
    )
  })
})

test.group('tenants / export: contents', () => {
  test('the export holds every module’s rows of the tenant, no secret and nothing of another tenant', async ({
    client,
    assert,
    cleanup,
  }) => {
    fakeMail(cleanup)
    const a = await busyWorkspace(client, 'Alpha')
    const b = await busyWorkspace(client, 'Bravo')

    const result = await runCommand(TenantExport, [a.tenant.slug])
    assert.equal(result.exitCode, 0, result.stderr)
    const text = result.stdout
    const document = JSON.parse(text)
    assert.equal(document.format, 'agora.tenant-export')
    assert.equal(document.tenant.id, a.tenant.id)

    // Each section holds exactly the tenant's rows of its table.
    const sections = sectionOfTable()
    for (const table of await tenantTables()) {
      const section = sections.get(table)!
      if (tenantExportSections().find((s) => s.name === section)!.tables.length !== 1) continue
      const [{ count }] = await db.from(table).where('tenant_id', a.tenant.id).count('* as count')
      assert.lengthOf(document[section], Number(count), `${section}: every row of ${table}`)
    }
    const [{ count: prices }] = await db
      .from('model_prices')
      .join('models', 'models.id', 'model_prices.model_id')
      .where('models.tenant_id', a.tenant.id)
      .count('* as count')
    assert.lengthOf(document.model_prices, Number(prices))

    // What the issue lists is there.
    assert.sameMembers(
      document.memberships.map((m: any) => m.email),
      [a.owner.email, a.member.email]
    )
    const member = document.memberships.find((m: any) => m.user_id === a.member.id)
    assert.deepEqual(Object.keys(member), [
      'id',
      'user_id',
      'email',
      'name',
      'role',
      'created_at',
      'updated_at',
    ])
    assert.include(member, { email: a.member.email, name: 'Alpha Member', role: 'member' })
    assert.lengthOf(document.invitations, 1)
    assert.deepEqual(
      document.agents.map((agent: any) => agent.slug),
      ['echo']
    )
    assert.lengthOf(document.agent_versions, 1)
    assert.deepEqual(
      document.runs.map((run: any) => run.id),
      [a.run.id]
    )
    assert.equal(document.runs[0].input, a.input)
    assert.isAtLeast(document.run_steps.length, 1)
    assert.isTrue(document.run_steps.every((step: any) => step.run_id === a.run.id))
    assert.lengthOf(document.threads, 1)
    assert.includeMembers(
      document.messages.map((message: any) => message.role),
      ['user', 'assistant']
    )
    assert.sameMembers(
      document.ledger_entries.map((entry: any) => entry.kind),
      ['grant', 'charge']
    )
    assert.lengthOf(document.credit_holds, 1)
    assert.lengthOf(document.credit_accounts, 1)
    assert.deepEqual(
      document.providers.map((provider: any) => provider.id),
      [a.provider.id]
    )
    assert.deepEqual(document.providers[0].settings.headers, { 'X-Org-Secret': '[redacted]' })
    assert.equal(document.providers[0].settings.max_tokens_field, 'max_completion_tokens')
    assert.lengthOf(document.models, 1)
    assert.lengthOf(document.model_prices, 1)
    assert.isAtLeast(document.usage_hourly.length, 1)
    assert.isAtLeast(document.usage_daily.length, 1)
    assert.match(document.usage_daily[0].day, /^\d{4}-\d{2}-\d{2}$/)
    assert.lengthOf(document.api_tokens, 1)
    assert.lengthOf(document.idempotency_keys, 1)
    const actions = document.audit_events.map((event: any) => event.action)
    for (const action of [
      'tenants.tenant.created',
      'agents.provider.created',
      'tenants.tenant.exported',
    ]) {
      assert.include(actions, action)
    }

    // No secret: keys, header values, token secrets and hashes, password hashes.
    const tokenRow = await db.from('auth_access_tokens').where('tenant_id', a.tenant.id).first()
    const providerRow = await db.from('providers').where('id', a.provider.id).first()
    const invitation = await Invitation.query().where('tenantId', a.tenant.id).firstOrFail()
    const owner = await db.from('users').where('id', a.owner.id).first()
    for (const [label, secret] of Object.entries({
      'API key': a.secrets.apiKey,
      'sealed API key': providerRow.api_key_encrypted,
      'header value': a.secrets.header,
      'API token': a.token,
      'API token hash': tokenRow.hash,
      'invitation token hash': invitation.tokenHash,
      'password hash': owner.password,
    })) {
      assert.isString(secret, label)
      assert.notInclude(text, secret, label)
    }
    for (const column of ['api_key_encrypted', 'token_hash', '"hash"', 'password', 'sealed'])
      assert.notInclude(text, column)

    // Nothing of the other tenant.
    for (const foreign of [
      b.tenant.id,
      b.owner.email,
      b.member.email,
      b.run.id,
      b.input,
      b.provider.id,
    ]) {
      assert.notInclude(text, foreign)
    }
  }).timeout(60_000)

  test('the owner’s download and `--out` give the same sections and mark the workspace exported', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create({ grant: 1_000n })
    await AgentFactory.merge({ tenantId: tenant.id }).create()
    const web = await signedIn(client, owner)
    const download = await web.get(`/t/${tenant.slug}/export.json`)
    download.assertStatus(200)
    const fromWeb = JSON.parse(download.text())
    assert.isNotNull((await Tenant.findOrFail(tenant.id)).lastExportedAt)
    assert.deepEqual(
      Object.keys(fromWeb).slice(4),
      tenantExportSections().map((section) => section.name)
    )

    await db.from('tenants').where('id', tenant.id).update({ last_exported_at: null })
    const dir = await mkdtemp(join(tmpdir(), 'agora-export-'))
    try {
      const file = join(dir, 'export.json')
      const result = await runCommand(TenantExport, [tenant.slug, `--out=${file}`])
      assert.equal(result.exitCode, 0, result.stderr)
      assert.equal(result.stdout, '')
      assert.include(result.stderr, file)
      assert.equal((await stat(file)).mode & 0o777, 0o600)
      const fromFile = JSON.parse(await readFile(file, 'utf8'))
      assert.deepEqual(Object.keys(fromFile), Object.keys(fromWeb))
      assert.lengthOf(fromFile.agents, 1)
      assert.isNotNull((await Tenant.findOrFail(tenant.id)).lastExportedAt)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('tenant:export refuses an unknown slug', async ({ assert }) => {
    const result = await runCommand(TenantExport, ['no-such-workspace'])
    assert.equal(result.exitCode, 1)
    assert.equal(result.stdout, '')
    assert.match(result.stderr, /^error: no workspace with slug "no-such-workspace"\n$/)
  })

  test('`node ace tenant:export` in its own process loads every module’s sections', async ({
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create({ grant: 1_000n })
    try {
      const result = await runAgoraToExit('ace', ['tenant:export', tenant.slug], {
        LOG_LEVEL: 'warn',
      })
      assert.equal(result.code, 0, result.stderr)
      const document = JSON.parse(result.stdout)
      assert.equal(document.tenant.id, tenant.id)
      for (const { name } of tenantExportSections())
        assert.isArray(document[name], `section ${name} in the command's output`)
      assert.lengthOf(document.credit_accounts, 1)
      assert.isNotNull((await Tenant.findOrFail(tenant.id)).lastExportedAt)
    } finally {
      await db.from('tenants').where('id', tenant.id).delete()
      await db.from('users').where('id', owner.id).delete()
    }
  })
    .tags(['@committed'])
    .skip(!process.env.DATABASE_URL, 'needs DATABASE_URL: another process cannot open PGlite')
    .timeout(60_000)
})

test.group('tenants / export: deletion needs an export', () => {
  test('an owner’s deletion request is refused until the data has been exported', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const web = await signedIn(client, owner)
    const refused = await web.submit('POST', `/t/${tenant.slug}/deletion`, {
      confirm: tenant.slug,
    })
    assert.equal(refused.status(), 302)
    assert.equal(refused.header('location'), `/t/${tenant.slug}/settings#danger`)
    const page = await web.follow(refused)
    assert.include(page.text(), 'data export first')
    assert.isNull((await Tenant.findOrFail(tenant.id)).deletionRequestedAt)

    const json = await web.submit(
      'POST',
      `/t/${tenant.slug}/deletion`,
      { confirm: tenant.slug },
      { accept: 'application/json' }
    )
    json.assertStatus(409)
    assert.include(json.header('content-type'), 'application/problem+json')
    assert.include(json.body().detail, 'export')

    ;(await web.get(`/t/${tenant.slug}/export.json`)).assertStatus(200)
    assert.include((await web.get(`/t/${tenant.slug}/settings`)).text(), 'Last exported')
    const accepted = await web.submit('POST', `/t/${tenant.slug}/deletion`, {
      confirm: tenant.slug,
    })
    assert.equal(accepted.status(), 302)
    assert.isNotNull((await Tenant.findOrFail(tenant.id)).deletionRequestedAt)
  })

  test('tenant:purge keeps a due workspace that was never exported, and deletes it once exported', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    await Tenant.query()
      .where('id', tenant.id)
      .update({ deletionRequestedAt: DateTime.now().minus({ days: 8 }).toJSDate() })
    const refused = await runCommand(TenantPurge, [])
    assert.equal(refused.exitCode, 1)
    assert.include(refused.stdout, `${tenant.slug}\t${tenant.id}\tfailed\n`)
    assert.include(refused.stderr, `node ace tenant:export ${tenant.slug}`)
    assert.exists(await Tenant.find(tenant.id))

    assert.equal((await runCommand(TenantExport, [tenant.slug])).exitCode, 0)
    const purged = await runCommand(TenantPurge, [])
    assert.include(purged.stdout, `${tenant.slug}\t${tenant.id}\tpurged\n`)
    assert.isNull(await Tenant.find(tenant.id))
  })
})
