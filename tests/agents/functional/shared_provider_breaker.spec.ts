import { randomUUID } from 'node:crypto'
import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import { verifyLedger } from '#credits'
import { runsIdle } from '#agents/services/run_executor'
import { breaker } from '#agents/services/circuit_breaker'
import { invalidateCatalog } from '#agents/services/catalog'
import { addModel, createProvider } from '#agents/actions/manage_providers'
import { FAST } from '#tests/helpers/agents'
import { FakeLlm, openai } from '#tests/helpers/fake_llm'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

/*
 * A platform provider is shared by every workspace: one workspace's own failures (its requests
 * time out) block only that workspace; the provider's failures (5xx, refused connections), or
 * the same symptom in several workspaces, block everyone. Committed: runs outlive requests.
 */

type Cleanup = (fn: () => Promise<void>) => void

/** A platform-wide provider at `baseUrl` with one model; removed (with its breakers) at the end. */
async function platformProvider(
  cleanup: Cleanup,
  baseUrl: string,
  breakerSettings: { failure_threshold: number; cooldown_ms: number },
  tenants: () => string[]
) {
  const slug = `shared-${randomUUID().slice(0, 8)}`
  const provider = await createProvider({
    tenantId: null,
    actorId: null,
    slug,
    name: 'Shared fake',
    kind: 'openai_compatible',
    baseUrl,
    apiKey: 'sk-platform-0123456789',
    settings: { ...FAST, max_retries: 0, breaker: breakerSettings },
  })
  const model = `${slug}/m`
  await addModel(provider, {
    actorId: null,
    name: model,
    upstreamModel: 'm',
    contextWindow: 128_000,
    inputPriceMicros: 1_000_000n,
    outputPriceMicros: 2_000_000n,
  })
  cleanup(async () => {
    const forget = { allowed: true, state: 'open' as const, failures: 1 }
    await breaker.success(provider.id, forget)
    for (const tenantId of tenants())
      await breaker.success({ providerId: provider.id, tenantId }, forget)
    await db.from('providers').where('id', provider.id).delete()
    await invalidateCatalog(null)
  })
  return { provider, model }
}

/** Committed workspaces with an agent `a` on `model`, removed at the end. */
async function workspaces(cleanup: Cleanup, client: ApiClient, model: string, count: number) {
  const list = []
  for (let i = 0; i < count; i++) {
    const workspace = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    cleanup(async () => {
      await runsIdle()
      await db.from('tenants').where('id', workspace.tenant.id).delete()
      await db.from('users').where('id', workspace.owner.id).delete()
    })
    const created = await client
      .post('/api/v1/agents')
      .bearerToken(workspace.token)
      .json({ name: 'A', slug: 'a', instructions: 'x', model })
    created.assertStatus(201)
    list.push(workspace)
  }
  return list
}

async function run(client: ApiClient, token: string) {
  const response = await client
    .post('/api/v1/agents/a/runs')
    .bearerToken(token)
    .json({ input: 'hi' })
  response.assertStatus(201)
  return response.body()
}

test.group('agents / providers: a shared provider cannot be switched off by one tenant', () => {
  test("one tenant's repeated timeouts block that tenant only; another tenant still reaches the provider", async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = await FakeLlm.start('openai', openai.silent())
    cleanup(() => fake.close())
    let ids: string[] = []
    const { provider, model } = await platformProvider(
      cleanup,
      fake.baseUrl,
      { failure_threshold: 2, cooldown_ms: 60_000 },
      () => ids
    )
    const [a, b] = await workspaces(cleanup, client, model, 2)
    ids = [a.tenant.id, b.tenant.id]

    for (let i = 0; i < 2; i++) {
      const timedOut = await run(client, a.token)
      assert.equal(timedOut.status, 'failed')
      assert.equal(timedOut.error.status, 504)
    }
    assert.equal(await breaker.state(provider.id), 'closed')
    assert.equal(await breaker.state({ providerId: provider.id, tenantId: a.tenant.id }), 'open')

    fake.use(openai.stream(['still ', 'here']))
    const other = await run(client, b.token)
    assert.equal(other.status, 'succeeded')
    assert.equal(other.output, 'still here')
    assert.lengthOf(fake.requests, 3)

    // The tenant whose requests time out is held off (its own breaker), without a call.
    const blocked = await run(client, a.token)
    assert.equal(blocked.steps[0].status, 'skipped')
    assert.equal(blocked.error.status, 503)
    assert.include(blocked.error.detail, 'for this workspace')
    assert.lengthOf(fake.requests, 3)
    assert.deepEqual(await verifyLedger(a.tenant.id), [])
    assert.deepEqual(await verifyLedger(b.tenant.id), [])
  }).tags(['@committed'])

  test('5xx answers or refused connections are the provider failing: its breaker opens for every tenant', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = await FakeLlm.start('openai', openai.status(500))
    cleanup(() => fake.close())
    let ids: string[] = []
    const failing = await platformProvider(
      cleanup,
      fake.baseUrl,
      { failure_threshold: 2, cooldown_ms: 60_000 },
      () => ids
    )
    const [a, b] = await workspaces(cleanup, client, failing.model, 2)
    ids = [a.tenant.id, b.tenant.id]
    assert.equal((await run(client, a.token)).error.status, 502)
    assert.equal((await run(client, a.token)).error.status, 502)
    assert.equal(await breaker.state(failing.provider.id), 'open')
    fake.use(openai.stream(['never asked']))
    const other = await run(client, b.token)
    assert.equal(other.steps[0].status, 'skipped')
    assert.equal(other.steps[0].error.breaker, 'open')
    assert.notInclude(other.error.detail, 'for this workspace')
    assert.lengthOf(fake.requests, 2)

    // Nothing listens on port 9 (discard): the connection is refused.
    const refused = await platformProvider(
      cleanup,
      'http://127.0.0.1:9/v1',
      { failure_threshold: 2, cooldown_ms: 60_000 },
      () => ids
    )
    const [c, d] = await workspaces(cleanup, client, refused.model, 2)
    ids.push(c.tenant.id, d.tenant.id)
    await run(client, c.token)
    await run(client, c.token)
    assert.equal(await breaker.state(refused.provider.id), 'open')
    assert.equal((await run(client, d.token)).steps[0].status, 'skipped')
    for (const w of [a, b, c, d]) assert.deepEqual(await verifyLedger(w.tenant.id), [])
  }).tags(['@committed'])

  test('timeouts from several tenants within the window open the shared breaker for everyone', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = await FakeLlm.start('openai', openai.silent())
    cleanup(() => fake.close())
    let ids: string[] = []
    // A threshold no single tenant reaches here: only the quorum of three tenants opens it.
    const { provider, model } = await platformProvider(
      cleanup,
      fake.baseUrl,
      { failure_threshold: 5, cooldown_ms: 60_000 },
      () => ids
    )
    const list = await workspaces(cleanup, client, model, 4)
    ids = list.map((w) => w.tenant.id)
    const [a, b, c, d] = list
    for (const w of [a, b]) assert.equal((await run(client, w.token)).error.status, 504)
    assert.equal(await breaker.state(provider.id), 'closed')
    assert.equal((await run(client, c.token)).error.status, 504)
    assert.equal(await breaker.state(provider.id), 'open')

    fake.use(openai.stream(['never asked']))
    const blocked = await run(client, d.token)
    assert.equal(blocked.steps[0].status, 'skipped')
    assert.notInclude(blocked.error.detail, 'for this workspace')
    assert.lengthOf(fake.requests, 3)
    for (const w of list) assert.deepEqual(await verifyLedger(w.tenant.id), [])
  }).tags(['@committed'])
})
