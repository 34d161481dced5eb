/*
 * agents web pages under /t/:tenant (session auth + tenant membership). Names: `agents.web.<resource>.<action>`.
 * Non-CRUD verbs are resources: restoring a version is `POST …/versions/:version/restoration`,
 * stopping a run is `POST /runs/:id/cancellation`.
 */
import router from '@adonisjs/core/services/router'
import { middleware } from '#start/kernel'
import { acceptUploadsOn } from '#core'
import { readsNoTenantRows } from '#tenants'

const AgentsController = () => import('#agents/controllers/web/agents_controller')
const AgentOptionsController = () => import('#agents/controllers/web/agent_options_controller')
const VersionsController = () => import('#agents/controllers/web/versions_controller')
const ChatController = () => import('#agents/controllers/web/chat_controller')
const RunsController = () => import('#agents/controllers/web/runs_controller')
const RunExportsController = () => import('#agents/controllers/web/run_exports_controller')
const ProvidersController = () => import('#agents/controllers/web/providers_controller')
const WorkflowsController = () => import('#agents/controllers/web/workflows_controller')
const WorkflowRunsController = () => import('#agents/controllers/web/workflow_runs_controller')
const ToolSettingsController = () => import('#agents/controllers/web/tool_settings_controller')
const KnowledgeController = () => import('#agents/controllers/web/knowledge_controller')
const EvaluationsController = () => import('#agents/controllers/web/evaluations_controller')
const MarketplaceController = () => import('#agents/controllers/web/marketplace_controller')

// The knowledge page's file form posts multipart (its CSRF token rides in the query string).
acceptUploadsOn('agents.web.knowledge_documents.store')

router
  .group(() => {
    router.get('/agents', [AgentsController, 'index']).as('agents.web.agents.index')
    router.get('/agents/new', [AgentsController, 'create']).as('agents.web.agents.create')
    router
      .get('/agents/options', [AgentOptionsController, 'index'])
      .as('agents.web.agent_options.index')
    router.post('/agents', [AgentsController, 'store']).as('agents.web.agents.store')
    router.get('/agents/:slug', [AgentsController, 'show']).as('agents.web.agents.show')
    router.get('/agents/:slug/edit', [AgentsController, 'edit']).as('agents.web.agents.edit')
    router.put('/agents/:slug', [AgentsController, 'update']).as('agents.web.agents.update')
    router.delete('/agents/:slug', [AgentsController, 'destroy']).as('agents.web.agents.destroy')
    router
      .get('/agents/:slug/versions', [VersionsController, 'index'])
      .as('agents.web.versions.index')
    router
      .get('/agents/:slug/versions/:version', [VersionsController, 'show'])
      .as('agents.web.versions.show')
    router
      .post('/agents/:slug/versions/:version/restoration', [VersionsController, 'restore'])
      .as('agents.web.restorations.store')
    // Evaluations: suites of an agent, runs of a suite against a version, results, comparisons.
    router
      .get('/agents/:slug/evaluations', [EvaluationsController, 'index'])
      .as('agents.web.evaluations.index')
    router
      .post('/agents/:slug/evaluations', [EvaluationsController, 'store'])
      .as('agents.web.eval_suites.store')
    router
      .post('/agents/:slug/evaluations/:id/runs', [EvaluationsController, 'start'])
      .as('agents.web.eval_runs.store')
    router.get('/eval-runs/:id', [EvaluationsController, 'show']).as('agents.web.eval_runs.show')
    router
      .get('/eval-runs/:id/comparison', [EvaluationsController, 'comparison'])
      .as('agents.web.eval_comparisons.show')
    // The marketplace: the catalogue, a listing, install, review; an agent's listing; updates.
    router.get('/marketplace', [MarketplaceController, 'index']).as('agents.web.marketplace.index')
    router
      .get('/marketplace/:id', [MarketplaceController, 'show'])
      .as('agents.web.marketplace.show')
    router
      .post('/marketplace/:id/installs', [MarketplaceController, 'install'])
      .as('agents.web.marketplace_installs.store')
    router
      .post('/marketplace/:id/reviews', [MarketplaceController, 'review'])
      .as('agents.web.marketplace_reviews.store')
    router
      .get('/agents/:slug/listing', [MarketplaceController, 'listingForm'])
      .as('agents.web.listings.show')
    router
      .post('/agents/:slug/listing', [MarketplaceController, 'publish'])
      .as('agents.web.listings.store')
    router
      .delete('/agents/:slug/listing', [MarketplaceController, 'unpublish'])
      .as('agents.web.listings.destroy')
    router
      .post('/agents/:slug/updates', [MarketplaceController, 'update'])
      .as('agents.web.agent_updates.store')
    // Listings are public rows the tenant-bound role cannot read: these pages read them unbound.
    readsNoTenantRows('agents.web.marketplace.index')
    readsNoTenantRows('agents.web.marketplace.show')
    readsNoTenantRows('agents.web.listings.show')
    router.get('/agents/:slug/chat', [ChatController, 'show']).as('agents.web.chat.show')
    router.post('/agents/:slug/runs', [RunsController, 'store']).as('agents.web.runs.store')
    router.get('/runs', [RunsController, 'index']).as('agents.web.runs.index')
    router.get('/runs.csv', [RunExportsController, 'show']).as('agents.web.run_exports.show')
    router.get('/runs/:id', [RunsController, 'show']).as('agents.web.runs.show')
    router.get('/runs/:id/events', [RunsController, 'events']).as('agents.web.run_events.index')
    router
      .post('/runs/:id/cancellation', [RunsController, 'cancellation'])
      .as('agents.web.cancellations.store')
    // Workflows: chains of agents; the page of one is its builder and its test bench.
    router.get('/workflows', [WorkflowsController, 'index']).as('agents.web.workflows.index')
    router.get('/workflows/new', [WorkflowsController, 'create']).as('agents.web.workflows.create')
    router.post('/workflows', [WorkflowsController, 'store']).as('agents.web.workflows.store')
    router.get('/workflows/:slug', [WorkflowsController, 'show']).as('agents.web.workflows.show')
    router
      .put('/workflows/:slug', [WorkflowsController, 'update'])
      .as('agents.web.workflows.update')
    router
      .delete('/workflows/:slug', [WorkflowsController, 'destroy'])
      .as('agents.web.workflows.destroy')
    router
      .post('/workflows/:slug/runs', [WorkflowRunsController, 'store'])
      .as('agents.web.workflow_runs.store')
    // Knowledge: documents agents search (upload, live indexing progress, re-index, delete).
    router.get('/knowledge', [KnowledgeController, 'index']).as('agents.web.knowledge.index')
    router
      .post('/knowledge/documents', [KnowledgeController, 'store'])
      .as('agents.web.knowledge_documents.store')
    router
      .get('/knowledge/documents/:id', [KnowledgeController, 'show'])
      .as('agents.web.knowledge_documents.show')
    router
      .delete('/knowledge/documents/:id', [KnowledgeController, 'destroy'])
      .as('agents.web.knowledge_documents.destroy')
    router
      .post('/knowledge/documents/:id/reindexing', [KnowledgeController, 'reindex'])
      .as('agents.web.knowledge_reindexings.store')
    router
      .put('/knowledge/settings', [KnowledgeController, 'settings'])
      .as('agents.web.knowledge_settings.update')
    // The workspace's own providers (owners and admins): keys, models, prices, connection tests.
    router.get('/providers', [ProvidersController, 'index']).as('agents.web.providers.index')
    router.post('/providers', [ProvidersController, 'store']).as('agents.web.providers.store')
    router.get('/providers/:id', [ProvidersController, 'show']).as('agents.web.providers.show')
    router.put('/providers/:id', [ProvidersController, 'update']).as('agents.web.providers.update')
    router
      .delete('/providers/:id', [ProvidersController, 'destroy'])
      .as('agents.web.providers.destroy')
    router
      .post('/providers/:id/models', [ProvidersController, 'storeModel'])
      .as('agents.web.models.store')
    router
      .delete('/providers/:id/models/:modelId', [ProvidersController, 'destroyModel'])
      .as('agents.web.models.destroy')
    router
      .post('/providers/:id/models/:modelId/prices', [ProvidersController, 'storePrice'])
      .as('agents.web.prices.store')
    router
      .post('/providers/:id/connection-test', [ProvidersController, 'testConnection'])
      .as('agents.web.connection_tests.store')
    // Built-in tools and the http_request allow-list (everyone reads; owners and admins save).
    router.get('/tools', [ToolSettingsController, 'show']).as('agents.web.tool_settings.show')
    router.put('/tools', [ToolSettingsController, 'update']).as('agents.web.tool_settings.update')
  })
  .prefix('/t/:tenant')
  .use([middleware.auth(), middleware.tenant()])
