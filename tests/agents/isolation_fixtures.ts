/*
 * Isolation-matrix fixtures of the agents module: tenant B's workflow, provider and model,
 * which tenant A (an owner, so tenant.update is not what stops it) must get as 404.
 */
import { randomUUID } from 'node:crypto'
import { addModel, createProvider } from '#agents/actions/manage_providers'
import { createAgent } from '#agents/actions/save_agent'
import { createWorkflow } from '#agents/actions/save_workflow'
import { addDocument, documentsIdle } from '#agents/actions/manage_documents'
import { createSuite, evaluate, startEvaluation } from '#agents/actions/evaluations'
import { moderateListing, publishListing } from '#agents/actions/marketplace'
import Agent from '#agents/models/agent'
import { flushProjections } from '#analytics'
import type { IsolationExclusion, IsolationFixture, IsolationWorld } from '#tests/tenants/isolation'

const providersOf = new WeakMap<IsolationWorld, Promise<{ id: string; modelId: string }>>()

function bProvider(world: IsolationWorld) {
  if (!providersOf.has(world)) {
    providersOf.set(
      world,
      (async () => {
        const slug = `iso-${randomUUID().slice(0, 8)}`
        const provider = await createProvider({
          tenantId: world.b.tenant.id,
          actorId: null,
          slug,
          name: 'B provider',
          kind: 'openai_compatible',
          baseUrl: 'https://b.example.test/v1',
          apiKey: 'sk-b-secret-key',
        })
        const model = await addModel(provider, {
          actorId: null,
          name: `${slug}/m`,
          contextWindow: 1000,
          inputPriceMicros: 1n,
          outputPriceMicros: 1n,
        })
        return { id: provider.id, modelId: model.id }
      })()
    )
  }
  return providersOf.get(world)!
}

const workflowsOf = new WeakMap<IsolationWorld, Promise<{ id: string; slug: string }>>()

/** Tenant B's workflow (one step running B's own agent). */
function bWorkflow(world: IsolationWorld) {
  if (!workflowsOf.has(world)) {
    workflowsOf.set(
      world,
      (async () => {
        const tenantId = world.b.tenant.id
        const slug = `iso-${randomUUID().slice(0, 8)}`
        await createAgent({
          tenantId,
          actorId: null,
          name: 'B step',
          slug,
          instructions: 'B only.',
          model: 'simulator/echo',
        })
        const { workflow } = await createWorkflow({
          tenantId,
          actorId: null,
          name: 'B workflow',
          slug,
          steps: [{ agent: slug }],
        })
        return { id: workflow.id, slug: workflow.slug }
      })()
    )
  }
  return workflowsOf.get(world)!
}

const evaluationsOf = new WeakMap<
  IsolationWorld,
  Promise<{ agentId: string; agentSlug: string; suiteId: string; evalRunId: string }>
>()

/** Tenant B's agent with a suite and one (finished) evaluation run. */
function bEvaluation(world: IsolationWorld) {
  if (!evaluationsOf.has(world)) {
    evaluationsOf.set(
      world,
      (async () => {
        const tenantId = world.b.tenant.id
        const slug = `iso-${randomUUID().slice(0, 8)}`
        const { agent } = await createAgent({
          tenantId,
          actorId: null,
          name: 'B evaluated',
          slug,
          instructions: 'B only.',
          model: 'simulator/echo',
        })
        const suite = await createSuite({
          agent,
          actorId: null,
          name: 'B suite',
          cases: [{ input: 'B secret', assertions: [{ type: 'contains', value: 'B' }] }],
        })
        const run = await startEvaluation({ suite, actorId: null, queue: false })
        await evaluate(tenantId, run.id)
        // Its case's run lands in analytics in batches: let it, before B is snapshotted.
        await flushProjections()
        return { agentId: agent.id, agentSlug: slug, suiteId: suite.id, evalRunId: run.id }
      })()
    )
  }
  return evaluationsOf.get(world)!
}

const SUITE_BODY = {
  name: 'A suite',
  cases: [{ input: 'hi', assertions: [{ type: 'contains', value: 'hi' }] }],
}

export const fixtures: IsolationFixture[] = [
  {
    routes: ['/api/v1/agents/:idOrSlug/eval-suites'],
    params: async (world) => {
      const evaluation = await bEvaluation(world)
      return [{ idOrSlug: evaluation.agentId }, { idOrSlug: evaluation.agentSlug }]
    },
    body: SUITE_BODY,
  },
  {
    routes: ['/api/v1/agents/:idOrSlug/listing', '/api/v1/agents/:idOrSlug/updates'],
    params: async (world) => {
      const evaluation = await bEvaluation(world)
      return [{ idOrSlug: evaluation.agentId }, { idOrSlug: evaluation.agentSlug }]
    },
    body: { title: 'Mine now', summary: 'Hijacked.', category: 'other' },
  },
  {
    routes: ['/api/v1/eval-suites/:id', '/api/v1/eval-suites/:id/runs'],
    params: async (world) => ({ id: (await bEvaluation(world)).suiteId }),
    body: {},
  },
  {
    routes: [
      '/api/v1/eval-runs/:id',
      '/api/v1/eval-runs/:id/comparison',
      '/t/:tenant/eval-runs/:id',
      '/t/:tenant/eval-runs/:id/comparison',
    ],
    params: async (world) => ({ id: (await bEvaluation(world)).evalRunId }),
  },
  {
    // Platform-admin moderation answers 404 to everyone else, whatever the id.
    routes: ['/admin/marketplace/:id'],
    params: async (world) => {
      const agent = await Agent.findOrFail((await bEvaluation(world)).agentId)
      const listing = await publishListing({
        agent,
        planId: null,
        actorId: null,
        title: 'B listing',
        summary: 'B only.',
        category: 'other',
      })
      // Hidden: the public catalogue shows a published listing's publisher by design, and the
      // matrix's list check must not see B there.
      await moderateListing(listing.id, { hidden: true }, null)
      return { id: listing.id }
    },
    body: { hidden: 'true' },
  },
  {
    routes: ['/t/:tenant/agents/:slug/listing', '/t/:tenant/agents/:slug/updates'],
    params: async (world) => ({ slug: (await bEvaluation(world)).agentSlug }),
    body: { title: 'Mine now', summary: 'Hijacked.', category: 'other' },
  },
  {
    routes: ['/t/:tenant/agents/:slug/evaluations'],
    params: async (world) => ({ slug: (await bEvaluation(world)).agentSlug }),
    body: { name: 'A suite', cases: JSON.stringify(SUITE_BODY.cases) },
  },
  {
    routes: ['/t/:tenant/agents/:slug/evaluations/:id/runs'],
    params: async (world) => {
      const evaluation = await bEvaluation(world)
      return { slug: evaluation.agentSlug, id: evaluation.suiteId }
    },
  },
  {
    routes: ['/api/v1/knowledge/documents/:id', '/api/v1/knowledge/documents/:id/reindexing'],
    params: async ({ b }) => {
      const document = await addDocument({
        tenantId: b.tenant.id,
        actorId: null,
        name: 'b-secret.txt',
        bytes: Buffer.from('B only: the launch code is 0000.'),
        field: 'text',
      })
      // Indexing shares the test's connection: nothing may run beside it.
      await documentsIdle()
      return { id: document.id }
    },
  },
  {
    routes: ['/t/:tenant/knowledge/documents/:id', '/t/:tenant/knowledge/documents/:id/reindexing'],
    params: async ({ b }) => {
      const document = await addDocument({
        tenantId: b.tenant.id,
        actorId: null,
        name: 'b-page-secret.txt',
        bytes: Buffer.from('B only: the page secret is 1111.'),
        field: 'text',
      })
      // Indexing shares the test's connection: nothing may run beside it.
      await documentsIdle()
      return { id: document.id }
    },
  },
  {
    routes: [
      '/api/v1/workflows/:idOrSlug',
      '/api/v1/workflows/:idOrSlug/versions',
      '/api/v1/workflows/:idOrSlug/runs',
    ],
    params: async (world) => {
      const workflow = await bWorkflow(world)
      return [{ idOrSlug: workflow.id }, { idOrSlug: workflow.slug }]
    },
    body: { input: 'hi', name: 'Changed' },
  },
  {
    routes: ['/t/:tenant/workflows/:slug', '/t/:tenant/workflows/:slug/runs'],
    params: async (world) => ({ slug: (await bWorkflow(world)).slug }),
    body: { input: 'hi', name: 'Changed' },
  },
  {
    routes: [
      '/t/:tenant/providers/:id',
      '/t/:tenant/providers/:id/models',
      '/t/:tenant/providers/:id/connection-test',
    ],
    params: async (world) => ({ id: (await bProvider(world)).id }),
    body: {
      name: 'Changed',
      base_url: 'https://a.example.test/v1',
      input_price: '1',
      output_price: '1',
    },
  },
  {
    routes: [
      '/t/:tenant/providers/:id/models/:modelId',
      '/t/:tenant/providers/:id/models/:modelId/prices',
    ],
    params: async (world) => {
      const provider = await bProvider(world)
      return { id: provider.id, modelId: provider.modelId }
    },
    body: { input_price: '5', output_price: '5' },
  },
]

export const exclusions: IsolationExclusion[] = [
  {
    route: '/api/v1/marketplace/:id',
    reason:
      'the public catalogue: a published listing is visible to every workspace by design and ' +
      'shows only the published configuration (agents marketplace.spec checks what it leaks)',
  },
  {
    route: '/t/:tenant/marketplace/:id',
    reason: 'the public catalogue page of a listing (as /api/v1/marketplace/:id)',
  },
  {
    route: '/t/:tenant/marketplace/:id/installs',
    reason: 'installing a published listing, as /api/v1/marketplace/:id/installs',
  },
  {
    route: '/t/:tenant/marketplace/:id/reviews',
    reason: 'reviewing a public listing, as /api/v1/marketplace/:id/reviews',
  },
  {
    route: '/api/v1/marketplace/:id/installs',
    reason:
      'installing a published listing is what the catalogue is for; the copy lands in the ' +
      "caller's workspace and nothing of the publisher's changes (agents marketplace.spec)",
  },
  {
    route: '/api/v1/marketplace/:id/reviews',
    reason:
      "a review is the caller's own row about a public listing, allowed only after a run of " +
      'an installed copy (agents marketplace.spec)',
  },
]
