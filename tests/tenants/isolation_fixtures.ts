/*
 * Isolation-matrix fixtures: "tenant B's object" for every parameterised route of tenants, and
 * for the modules that have no `tests/<module>/isolation_fixtures.ts` of their own yet (auth,
 * admin, agents). Objects are created through public doors or the public API (CONTRACT.md), so
 * these fixtures do not depend on another module's internals.
 */
import { randomUUID } from 'node:crypto'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { createApiToken } from '#auth'
import { grant } from '#credits'
import { Invitation, Membership, withTenant } from '#tenants'
import { createWebhookEndpoint } from '#platform'
import { flushProjections } from '#analytics'
import { Session } from '#tests/helpers/session'
import type { IsolationExclusion, IsolationFixture, IsolationWorld } from '#tests/tenants/isolation'

/** B's agent (with one run and one thread), created once per world through the API. */
const agentsOf = new WeakMap<
  IsolationWorld,
  Promise<{ id: string; slug: string; runId: string; threadId: string }>
>()
function bAgent(world: IsolationWorld) {
  if (!agentsOf.has(world)) {
    agentsOf.set(
      world,
      (async () => {
        const { client, b } = world
        await grant({
          tenantId: b.tenant.id,
          amount: 1_000_000_000n,
          reason: 'isolation matrix',
          idempotencyKey: `iso-${randomUUID()}`,
        })
        const slug = `iso-${randomUUID().slice(0, 8)}`
        const agent = await client
          .post('/api/v1/agents')
          .bearerToken(b.token)
          .json({ name: 'B agent', slug, instructions: 'Repeat.', model: 'simulator/echo' })
        if (agent.status() !== 201)
          throw new Error(`could not create B's agent: ${agent.status()} ${agent.text()}`)
        const run = await client
          .post(`/api/v1/agents/${agent.body().id}/runs`)
          .bearerToken(b.token)
          .json({ input: 'hello' })
        if (run.status() !== 201)
          throw new Error(`could not run B's agent: ${run.status()} ${run.text()}`)
        const thread = await client
          .post('/api/v1/threads')
          .bearerToken(b.token)
          .json({ title: 'B thread' })
        if (thread.status() !== 201)
          throw new Error(`could not create B's thread: ${thread.status()} ${thread.text()}`)
        // The run's analytics land in batches after it finished: let them, before B is snapshotted.
        await flushProjections()
        return { id: agent.body().id, slug, runId: run.body().id, threadId: thread.body().id }
      })()
    )
  }
  return agentsOf.get(world)!
}

/** Tenant B's webhook endpoint with one delivery. */
async function bWebhook(world: IsolationWorld) {
  const tenantId = world.b.tenant.id
  const { endpoint } = await withTenant(tenantId, (trx) =>
    createWebhookEndpoint(trx, {
      tenantId,
      url: 'https://b.example.test/hook',
      events: ['run.finished'],
      actorId: world.b.owner.id,
    })
  )
  const [delivery] = await db
    .table('webhook_deliveries')
    .insert({
      tenant_id: tenantId,
      endpoint_id: endpoint.id,
      event_id: randomUUID(),
      event_type: 'run.finished',
      payload: '{}',
      status: 'failed',
    })
    .returning('id')
  return { id: endpoint.id, delivery: delivery.id ?? delivery }
}

export const fixtures: IsolationFixture[] = [
  {
    routes: [
      '/t/:tenant/webhooks/:id',
      '/t/:tenant/webhooks/:id/secret-rotations',
      '/t/:tenant/webhooks/:id/deliveries/:delivery/redeliveries',
      '/api/v1/webhooks/:id',
      '/api/v1/webhooks/:id/secret-rotations',
      '/api/v1/webhooks/:id/deliveries',
      '/api/v1/webhooks/:id/deliveries/:delivery/redeliver',
    ],
    params: bWebhook,
  },
  // tenants
  {
    routes: ['/t/:tenant/members/:id'],
    params: async ({ b }) => ({
      id: (
        await Membership.query()
          .where('tenantId', b.tenant.id)
          .where('userId', b.member.id)
          .firstOrFail()
      ).id,
    }),
    body: { role: 'viewer' },
  },
  {
    routes: ['/t/:tenant/invitations/:id', '/t/:tenant/invitations/:id/renewal'],
    params: async ({ b }) => {
      const invitation = await Invitation.create({
        tenantId: b.tenant.id,
        email: `${randomUUID()}@example.test`,
        role: 'viewer',
        tokenHash: randomUUID().replace(/-/g, '').padEnd(64, '0'),
        expiresAt: DateTime.now().plus({ days: 7 }),
        lastSentAt: DateTime.now(),
        invitedBy: b.owner.id,
      })
      return { id: invitation.id }
    },
  },

  // auth: user-scoped objects of B's users
  {
    routes: ['/account/tokens/:id'],
    params: async ({ b }) => ({
      id: (
        await createApiToken({ user: b.member, tenantId: b.tenant.id, name: 'b', abilities: [] })
      ).id,
    }),
  },
  {
    routes: ['/account/sessions/:id'],
    params: async ({ b, client }) => {
      await new Session(client).login(b.member.email)
      const row = await db
        .from('user_sessions')
        .where('user_id', b.member.id)
        .whereNull('revoked_at')
        .orderBy('created_at', 'desc')
        .firstOrFail()
      return { id: row.id }
    },
  },

  // admin: platform-admin pages answer 404 to everyone else, whatever the id
  {
    routes: ['/admin/mailbox/:id'],
    params: async ({ b }) => {
      const [row] = await db
        .table('dev_mailbox')
        .insert({ to: b.owner.email, subject: 'For B', text: 'secret of B', html: null })
        .returning('id')
      return { id: String(row.id ?? row) }
    },
  },

  // agents (API: A's bearer token; web: A's session)
  {
    routes: [
      '/api/v1/agents/:idOrSlug',
      '/api/v1/agents/:idOrSlug/versions',
      '/api/v1/agents/:idOrSlug/runs',
    ],
    params: async (world) => {
      const agent = await bAgent(world)
      return [{ idOrSlug: agent.id }, { idOrSlug: agent.slug }]
    },
    body: { input: 'hi', instructions: 'Changed.' },
  },
  {
    routes: [
      '/api/v1/runs/:id',
      '/api/v1/runs/:id/events',
      '/api/v1/runs/:id/cancellation',
      '/t/:tenant/runs/:id',
      '/t/:tenant/runs/:id/events',
      '/t/:tenant/runs/:id/cancellation',
    ],
    params: async (world) => ({ id: (await bAgent(world)).runId }),
  },
  {
    routes: ['/api/v1/threads/:id'],
    params: async (world) => ({ id: (await bAgent(world)).threadId }),
  },
  {
    routes: [
      '/t/:tenant/agents/:slug',
      '/t/:tenant/agents/:slug/edit',
      '/t/:tenant/agents/:slug/versions',
      '/t/:tenant/agents/:slug/chat',
      '/t/:tenant/agents/:slug/runs',
    ],
    params: async (world) => ({ slug: (await bAgent(world)).slug }),
    body: { name: 'Changed', instructions: 'Changed.', model: 'simulator/echo', input: 'hi' },
  },
  {
    routes: [
      '/t/:tenant/agents/:slug/versions/:version',
      '/t/:tenant/agents/:slug/versions/:version/restoration',
    ],
    params: async (world) => ({ slug: (await bAgent(world)).slug, version: '1' }),
  },
  {
    // B's own provider and model, inserted as rows (the provider pages have no API).
    routes: [
      '/t/:tenant/providers/:id',
      '/t/:tenant/providers/:id/models',
      '/t/:tenant/providers/:id/models/:modelId',
      '/t/:tenant/providers/:id/models/:modelId/prices',
      '/t/:tenant/providers/:id/connection-test',
    ],
    params: async ({ b }) => {
      const slug = `iso-${randomUUID().slice(0, 8)}`
      const [provider] = await db
        .table('providers')
        .insert({
          tenant_id: b.tenant.id,
          slug,
          name: 'B provider',
          kind: 'openai_compatible',
          base_url: 'https://llm.example.invalid/v1',
        })
        .returning('id')
      const providerId = String(provider.id ?? provider)
      const [model] = await db
        .table('models')
        .insert({
          tenant_id: b.tenant.id,
          provider_id: providerId,
          name: `${slug}/model`,
          input_price_micros: 1,
          output_price_micros: 1,
          context_window: 8192,
        })
        .returning('id')
      return { id: providerId, modelId: String(model.id ?? model) }
    },
    body: {
      name: 'Changed',
      kind: 'openai_compatible',
      base_url: 'https://llm.example.invalid/v2',
      model: 'x',
      input_price: '1',
      output_price: '1',
    },
  },
]

/**
 * Routes with a parameter that is not "an object of some tenant". Each needs a reason; the
 * behaviour behind the reason is tested where named.
 */
export const exclusions: IsolationExclusion[] = [
  {
    route: '/invitations/:token',
    reason: 'capability link: the secret token is the authorisation (tenants invitations.spec)',
  },
  {
    route: '/invitations/:token/acceptance',
    reason:
      'capability link; accepting also requires the invited address (tenants invitations.spec)',
  },
  {
    route: '/invitations/:token/account',
    reason:
      'capability link; signed-out sign-up for the invited address (tenants invitations.spec)',
  },
  {
    route: '/email-verifications/:token',
    reason: 'capability link mailed to the address (auth email_verification.spec)',
  },
  {
    route: '/password-resets/:token',
    reason: 'capability link mailed to the address (auth password reset tests)',
  },
]
