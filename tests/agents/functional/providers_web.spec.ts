import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import encryption from '@adonisjs/core/services/encryption'
import { invalidateCatalog, catalog, embeddingCatalog } from '#agents/services/catalog'
import {
  ProviderCreate,
  ProviderModel,
  ModelPrice,
  ProviderTest,
} from '#agents/commands/provider_commands'
import { allowPrivateNetworks, fakeProvider } from '#tests/helpers/agents'
import { runCommand } from '#tests/helpers/ace'
import { FakeLlm, openai } from '#tests/helpers/fake_llm'
import { signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'

const HTMX = { 'hx-request': 'true' }
const KEY = 'sk-live-abcdefghijklmnop-WXYZ'

async function signedInOwner(client: ApiClient) {
  const workspace = await WorkspaceFactory.create()
  const web = await signedIn(client, workspace.owner)
  return { ...workspace, web, base: `/t/${workspace.tenant.slug}` }
}

test.group('agents / web: provider credentials', (group) => {
  let fake: FakeLlm
  group.setup(async () => {
    fake = await FakeLlm.start('openai', openai.stream(['pong']))
    return () => fake.close()
  })
  allowPrivateNetworks(group)

  test('an owner adds a provider; the key is encrypted at rest and never shown again in full', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client)
    const page = await web.get(`${base}/providers`)
    page.assertStatus(200)
    assert.include(page.text(), 'Add a provider')
    assert.include(page.text(), 'simulator/echo') // platform models are listed
    const created = await web.submit('POST', `${base}/providers`, {
      name: 'Our OpenAI',
      slug: 'our-openai',
      kind: 'openai_compatible',
      base_url: fake.baseUrl,
      api_key: KEY,
      settings: '{"max_retries": 1}',
    })
    created.assertStatus(302)
    const row = await db
      .from('providers')
      .where('tenant_id', tenant.id)
      .where('slug', 'our-openai')
      .firstOrFail()
    assert.notInclude(row.api_key_encrypted, KEY)
    assert.notInclude(row.api_key_encrypted, 'abcdefghijklmnop')
    assert.equal(encryption.decrypt(row.api_key_encrypted, 'provider-api-key'), KEY)
    assert.isNull(encryption.decrypt(row.api_key_encrypted)) // bound to its purpose
    assert.equal(row.api_key_last4, 'WXYZ')
    assert.deepEqual(row.settings, { max_retries: 1 })
    assert.equal(created.header('location'), `${base}/providers/${row.id}`)
    for (const url of [`${base}/providers`, `${base}/providers/${row.id}`]) {
      const html = (await web.get(url)).text()
      assert.include(html, '••••WXYZ')
      assert.notInclude(html, KEY)
    }
  })

  test('a rejected form answers 422 with the field message and does not echo the key', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client)
    await web.get(`${base}/providers`)
    const response = await web.submit('POST', `${base}/providers`, {
      name: 'Bad',
      slug: 'bad',
      kind: 'openai_compatible',
      base_url: 'ftp://example.com',
      api_key: KEY,
    })
    response.assertStatus(422)
    assert.include(response.text(), 'Only http:// and https:// URLs are supported.')
    assert.notInclude(response.text(), KEY)
    const settings = await web.submit('POST', `${base}/providers`, {
      name: 'Bad',
      slug: 'bad',
      kind: 'anthropic',
      settings: '{"max_retries": 99}',
    })
    settings.assertStatus(422)
    assert.include(settings.text(), 'max_retries')
    assert.lengthOf(await db.from('providers').where('tenant_id', tenant.id), 0)
  })

  test('models and prices are added by form; the price book lists them; the catalog has them at once', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client)
    const { provider } = await fakeProvider(tenant.id, fake, { slug: 'mine', models: [] })
    await web.get(`${base}/providers/${provider.id}`)
    ;(
      await web.submit('POST', `${base}/providers/${provider.id}/models`, {
        name: 'mine/gpt-x',
        upstream_model: 'gpt-x',
        context_window: '64000',
        input_price: '0.15',
        output_price: '0.6',
      })
    ).assertStatus(302)
    const model = (await catalog(tenant.id)).get('mine/gpt-x')!
    assert.equal(model.inputPrice, 150_000n)
    assert.equal(model.upstreamModel, 'gpt-x')
    ;(
      await web.submit('POST', `${base}/providers/${provider.id}/models/${model.id}/prices`, {
        input_price: '0.2',
        output_price: '0.8',
        effective_from: '2999-01-01T00:00',
      })
    ).assertStatus(302)
    const html = (await web.get(`${base}/providers/${provider.id}`)).text()
    assert.include(html, 'mine/gpt-x')
    assert.include(html, '0.2 in / 0.8 out from 2999-01-01 00:00 UTC (upcoming)')
    assert.include(html, '0.15 in / 0.6 out from')
    const past = await web.submit(
      'POST',
      `${base}/providers/${provider.id}/models/${model.id}/prices`,
      { input_price: '1', output_price: '1', effective_from: '2000-01-01T00:00' }
    )
    past.assertStatus(422)
    assert.include(past.text(), 'history is never rewritten')
    const bad = await web.submit('POST', `${base}/providers/${provider.id}/models`, {
      name: 'mine/y',
      input_price: 'cheap',
    })
    bad.assertStatus(422)
    assert.include(bad.text(), 'credits per 1M tokens')

    // An embedding model: listed as such, offered for knowledge, never to agents.
    ;(
      await web.submit('POST', `${base}/providers/${provider.id}/models`, {
        name: 'mine/embed',
        upstream_model: 'text-embedding-3-small',
        kind: 'embedding',
        input_price: '0.02',
        output_price: '0',
      })
    ).assertStatus(302)
    assert.isFalse((await catalog(tenant.id)).has('mine/embed'))
    assert.equal((await embeddingCatalog(tenant.id)).get('mine/embed')!.inputPrice, 20_000n)
    assert.include(
      (await web.get(`${base}/knowledge`)).text(),
      'mine/embed (0.02 credits per 1M tokens)'
    )
    const odd = await web.submit('POST', `${base}/providers/${provider.id}/models`, {
      name: 'mine/z',
      kind: 'rerank',
      input_price: '1',
      output_price: '1',
    })
    odd.assertStatus(422)
    assert.include(odd.text(), 'Choose chat or embedding.')
  })

  test('test connection: htmx gets the result fragment; without JavaScript the page shows it; failures say why', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client)
    const { provider, model } = await fakeProvider(tenant.id, fake)
    await web.get(`${base}/providers/${provider.id}`)
    const ok = await web.submit(
      'POST',
      `${base}/providers/${provider.id}/connection-test`,
      { model },
      HTMX
    )
    ok.assertStatus(200)
    assert.include(ok.text(), 'id="connection-test-result"')
    assert.include(ok.text(), `Connected: ${model} answered`)
    assert.equal(fake.requests.at(-1)!.body.max_tokens, 1)
    const page = await web.submit('POST', `${base}/providers/${provider.id}/connection-test`, {})
    page.assertStatus(200)
    assert.include(page.text(), 'Connected:')

    const failing = await FakeLlm.start('openai', openai.status(401))
    try {
      const broken = await fakeProvider(tenant.id, failing)
      const result = await web.submit(
        'POST',
        `${base}/providers/${broken.provider.id}/connection-test`,
        {},
        HTMX
      )
      assert.include(result.text(), 'The provider answered 401: fake 401')
      assert.include(result.text(), 'alert-error')
    } finally {
      await failing.close()
    }
  })

  test('editing keeps the key when the field is empty, replaces or removes it otherwise; delete removes models', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client)
    const { provider, model } = await fakeProvider(tenant.id, fake, { apiKey: 'sk-first-1111' })
    await web.get(`${base}/providers/${provider.id}`)
    ;(
      await web.submit('PUT', `${base}/providers/${provider.id}`, {
        name: 'Renamed',
        base_url: fake.baseUrl,
        api_key: '',
        settings: '',
      })
    ).assertStatus(302)
    let row = await db.from('providers').where('id', provider.id).first()
    assert.equal(row.name, 'Renamed')
    assert.equal(row.api_key_last4, '1111')
    ;(
      await web.submit('PUT', `${base}/providers/${provider.id}`, {
        name: 'Renamed',
        base_url: fake.baseUrl,
        api_key: 'sk-second-2222',
      })
    ).assertStatus(302)
    row = await db.from('providers').where('id', provider.id).first()
    assert.equal(row.api_key_last4, '2222')
    ;(
      await web.submit('PUT', `${base}/providers/${provider.id}`, {
        name: 'Renamed',
        base_url: fake.baseUrl,
        remove_api_key: 'on',
      })
    ).assertStatus(302)
    row = await db.from('providers').where('id', provider.id).first()
    assert.isNull(row.api_key_encrypted)
    ;(await web.submit('DELETE', `${base}/providers/${provider.id}`)).assertStatus(302)
    assert.isFalse((await catalog(tenant.id)).has(model))
    assert.lengthOf(await db.from('models').where('provider_id', provider.id), 0)
  })

  test('members and viewers may not see or change providers (403); another workspace gets 404', async ({
    client,
    assert,
  }) => {
    const { tenant, base } = await signedInOwner(client)
    const { provider } = await fakeProvider(tenant.id, fake)
    for (const role of ['member', 'viewer'] as const) {
      const user = await UserFactory.create()
      await MembershipFactory.merge({ tenantId: tenant.id, userId: user.id, role }).create()
      const web = await signedIn(client, user)
      ;(await web.get(`${base}/providers`)).assertStatus(403)
      ;(await web.get(`${base}/providers/${provider.id}`)).assertStatus(403)
      ;(
        await web.submit('POST', `${base}/providers`, { slug: 'x', kind: 'anthropic' })
      ).assertStatus(403)
    }
    const other = await signedInOwner(client)
    ;(await other.web.get(`${other.base}/providers/${provider.id}`)).assertStatus(404)
    ;(
      await other.web.submit('POST', `${other.base}/providers/${provider.id}/connection-test`, {})
    ).assertStatus(404)
    ;(await other.web.get(`${other.base}/providers/not-a-uuid`)).assertStatus(404)
    assert.equal((await db.from('providers').where('id', provider.id).first()).tenant_id, tenant.id)
  })
})

test.group('agents / commands: platform providers and prices', (group) => {
  group.each.teardown(() => invalidateCatalog(null))

  test('provider:create, provider:model, model:price and provider:test manage a platform-wide provider every workspace sees', async ({
    assert,
  }) => {
    const fake = await FakeLlm.start('openai', openai.stream(['ok']))
    try {
      process.env.PROVIDER_API_KEY = 'sk-platform-9876'
      const created = await runCommand(ProviderCreate, [
        'platform-fake',
        '--kind=openai_compatible',
        `--base-url=${fake.baseUrl}`,
        '--settings={"max_retries":0}',
      ])
      delete process.env.PROVIDER_API_KEY
      assert.equal(created.exitCode, 0, created.stderr)
      const id = created.stdout.trim()
      assert.include(created.stderr, '••••9876')
      const model = await runCommand(ProviderModel, [
        'platform-fake',
        'platform-fake/m1',
        '--upstream=m1',
        '--input-price=0.5',
        '--output-price=1.5',
      ])
      assert.equal(model.exitCode, 0, model.stderr)
      const price = await runCommand(ModelPrice, [
        'platform-fake',
        'platform-fake/m1',
        '--input-price=0.75',
        '--output-price=2',
      ])
      assert.equal(price.exitCode, 0, price.stderr)
      const tested = await runCommand(ProviderTest, ['platform-fake'])
      assert.equal(tested.exitCode, 0, tested.stderr)
      assert.match(tested.stdout, /^ok \d+/)
      assert.equal(fake.requests.at(-1)!.headers.authorization, 'Bearer sk-platform-9876')

      const { tenant } = await WorkspaceFactory.create()
      const seen = (await catalog(tenant.id)).get('platform-fake/m1')!
      assert.equal(seen.providerId, id)
      assert.equal(seen.inputPrice, 750_000n)
      assert.isNull(seen.tenantId)
      const duplicate = await runCommand(ProviderCreate, ['platform-fake', '--kind=anthropic'])
      assert.equal(duplicate.exitCode, 1)
      assert.include(duplicate.stderr, 'already used')
      const unknown = await runCommand(ProviderModel, ['nope', 'x'])
      assert.equal(unknown.exitCode, 1)
    } finally {
      await fake.close()
    }
  })
})
