import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import encryption from '@adonisjs/core/services/encryption'
import { verifyLedger } from '#credits'
import { runsIdle } from '#agents/services/run_executor'
import { addModel, findProvider, HEADER_MASK } from '#agents/actions/manage_providers'
import { testProviderConnection } from '#agents/services/connection_test'
import EncryptProviderHeaders from '#database/migrations/agents/1700000000130_encrypt_provider_headers'
import { allowPrivateNetworks, FAST, fakeProvider } from '#tests/helpers/agents'
import { FakeLlm, openai } from '#tests/helpers/fake_llm'
import { signedIn } from '#tests/helpers/session'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

/*
 * Provider header values are often credentials (org ids, gateway tokens): sealed at rest like
 * API keys, decrypted only for the call, masked in pages, and named (never valued) in the audit.
 */

const SECRET = 'org-secret-7f3a9c'
const EXTRA = 'extra-secret-51be'
const HTMX = { 'hx-request': 'true' }

async function signedInOwner(client: ApiClient) {
  const workspace = await WorkspaceFactory.create()
  const web = await signedIn(client, workspace.owner)
  return { ...workspace, web, base: `/t/${workspace.tenant.slug}` }
}

async function auditOf(action: string, subjectId: string) {
  const rows = await db
    .from('audit_events')
    .where('action', action)
    .where('subject_id', subjectId)
    .orderBy('id')
  return rows.map((row) => ({ text: JSON.stringify(row), changes: row.changes }))
}

const open = (sealed: string) => encryption.decrypt<string>(sealed, 'provider-header')

test.group('agents / providers: header values are secrets', (group) => {
  let fake: FakeLlm
  group.setup(async () => {
    fake = await FakeLlm.start('openai', openai.stream(['pong']))
    return () => fake.close()
  })
  allowPrivateNetworks(group)

  test('a header value is sealed at rest, masked in pages and named only in the audit trail; a masked value sent back keeps it', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client)
    await web.get(`${base}/providers`)
    const created = await web.submit('POST', `${base}/providers`, {
      name: 'Gateway',
      slug: 'gateway',
      kind: 'openai_compatible',
      base_url: fake.baseUrl,
      api_key: 'sk-gateway-0000',
      settings: JSON.stringify({ max_retries: 1, headers: { 'X-Org-Token': SECRET } }),
    })
    created.assertStatus(302)
    let row = await db.from('providers').where('tenant_id', tenant.id).firstOrFail()
    assert.notInclude(JSON.stringify(row.settings), SECRET)
    assert.isUndefined(row.settings.headers)
    assert.equal(open(row.settings.sealed_headers['X-Org-Token']), SECRET)
    assert.isNull(encryption.decrypt(row.settings.sealed_headers['X-Org-Token'])) // its purpose
    assert.equal(row.settings.max_retries, 1)

    const [createdAudit] = await auditOf('agents.provider.created', row.id)
    assert.notInclude(createdAudit.text, SECRET)
    assert.deepEqual(createdAudit.changes.settings, { max_retries: 1, headers: ['X-Org-Token'] })

    for (const url of [`${base}/providers`, `${base}/providers/${row.id}`]) {
      const html = (await web.get(url)).text()
      assert.notInclude(html, SECRET)
    }
    const page = (await web.get(`${base}/providers/${row.id}`)).text()
    assert.include(page, 'X-Org-Token')
    assert.include(page, HEADER_MASK)
    assert.deepEqual((await findProvider(tenant.id, row.id))!.settings.headers, {
      'X-Org-Token': HEADER_MASK,
    })

    // The call gets the real value (here through "test connection").
    await addModel((await findProvider(tenant.id, row.id))!, {
      actorId: null,
      name: 'gateway/m',
      contextWindow: 1000,
      inputPriceMicros: 0n,
      outputPriceMicros: 0n,
    })
    const tested = await web.submit('POST', `${base}/providers/${row.id}/connection-test`, {}, HTMX)
    assert.include(tested.text(), 'Connected:')
    assert.equal(fake.requests.at(-1)!.headers['x-org-token'], SECRET)

    // The form sends the masked value back: the stored value stays; a new header is sealed.
    ;(
      await web.submit('PUT', `${base}/providers/${row.id}`, {
        name: 'Gateway',
        base_url: fake.baseUrl,
        settings: JSON.stringify({
          max_retries: 1,
          headers: { 'X-Org-Token': HEADER_MASK, 'X-Extra': EXTRA },
        }),
      })
    ).assertStatus(302)
    row = await db.from('providers').where('id', row.id).firstOrFail()
    assert.notInclude(JSON.stringify(row.settings), EXTRA)
    assert.equal(open(row.settings.sealed_headers['X-Org-Token']), SECRET)
    assert.equal(open(row.settings.sealed_headers['X-Extra']), EXTRA)
    const [updatedAudit] = await auditOf('agents.provider.updated', row.id)
    assert.notInclude(updatedAudit.text, SECRET)
    assert.notInclude(updatedAudit.text, EXTRA)
    assert.notInclude(updatedAudit.text, HEADER_MASK)
    assert.deepEqual(updatedAudit.changes.settings.headers, ['X-Org-Token', 'X-Extra'])
    assert.notInclude((await web.get(`${base}/providers/${row.id}`)).text(), EXTRA)

    // The mask keeps only a value that exists; removing a header drops it.
    const unknown = await web.submit('PUT', `${base}/providers/${row.id}`, {
      name: 'Gateway',
      base_url: fake.baseUrl,
      settings: JSON.stringify({ headers: { 'X-Other': HEADER_MASK } }),
    })
    unknown.assertStatus(422)
    assert.include(unknown.text(), 'enter its value')
    ;(
      await web.submit('PUT', `${base}/providers/${row.id}`, {
        name: 'Gateway',
        base_url: fake.baseUrl,
        settings: JSON.stringify({ headers: { 'X-Extra': HEADER_MASK } }),
      })
    ).assertStatus(302)
    row = await db.from('providers').where('id', row.id).firstOrFail()
    assert.deepEqual(Object.keys(row.settings.sealed_headers), ['X-Extra'])
  })

  test('the migration seals plaintext values in place, its down restores them, and a second up changes nothing', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    const { provider } = await fakeProvider(tenant.id, fake, { slug: 'legacy', models: ['m'] })
    // A row as code older than the encryption wrote it.
    await db
      .from('providers')
      .where('id', provider.id)
      .update({ settings: JSON.stringify({ max_retries: 0, headers: { 'X-Legacy': SECRET } }) })
    // Until it is migrated, such a row is masked too and still works.
    assert.deepEqual((await findProvider(tenant.id, provider.id))!.settings.headers, {
      'X-Legacy': HEADER_MASK,
    })
    const migrate = (direction: 'up' | 'down') => {
      const migration = new EncryptProviderHeaders(db.connection(), 'encrypt_provider_headers')
      return direction === 'up' ? migration.execUp() : migration.execDown()
    }
    const settings = async () =>
      (await db.from('providers').where('id', provider.id).firstOrFail()).settings

    await migrate('up')
    const sealed = await settings()
    assert.notInclude(JSON.stringify(sealed), SECRET)
    assert.deepEqual(Object.keys(sealed).sort(), ['max_retries', 'sealed_headers'])
    assert.equal(open(sealed.sealed_headers['X-Legacy']), SECRET)
    const result = await testProviderConnection(provider.id, tenant.id)
    assert.isTrue(result.ok, result.message)
    assert.equal(fake.requests.at(-1)!.headers['x-legacy'], SECRET)

    await migrate('up')
    assert.deepEqual(await settings(), sealed)

    await migrate('down')
    assert.deepEqual(await settings(), { max_retries: 0, headers: { 'X-Legacy': SECRET } })
  })
})

test.group('agents / providers: header values reach the provider', (group) => {
  allowPrivateNetworks(group)

  test('a run sends the real header value, though only its sealed form is stored', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = await FakeLlm.start('openai', openai.stream(['hello']))
    const workspace = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    cleanup(async () => {
      await runsIdle()
      await fake.close()
      await db.from('tenants').where('id', workspace.tenant.id).delete()
      await db.from('users').where('id', workspace.owner.id).delete()
    })
    const { provider, model } = await fakeProvider(workspace.tenant.id, fake, {
      settings: { ...FAST, headers: { 'X-Org-Token': SECRET } },
    })
    const stored = await db.from('providers').where('id', provider.id).firstOrFail()
    assert.notInclude(JSON.stringify(stored.settings), SECRET)
    ;(
      await client
        .post('/api/v1/agents')
        .bearerToken(workspace.token)
        .json({ name: 'H', slug: 'h', instructions: 'x', model })
    ).assertStatus(201)
    const response = await client
      .post('/api/v1/agents/h/runs')
      .bearerToken(workspace.token)
      .json({ input: 'hi' })
    response.assertStatus(201)
    assert.equal(response.body().status, 'succeeded')
    assert.notInclude(response.text(), SECRET)
    assert.equal(fake.requests[0].headers['x-org-token'], SECRET)
    assert.deepEqual(await verifyLedger(workspace.tenant.id), [])
  }).tags(['@committed'])
})
