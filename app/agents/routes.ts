/*
 * agents routes. Names are prefixed with the module (`agents.<resource>.<action>`).
 */
import router from '@adonisjs/core/services/router'
import { middleware } from '#start/kernel'
import { acceptUploadsOn } from '#core'
import { readsNoTenantRows } from '#tenants'
import '#agents/openapi'

const AgentsController = () => import('#agents/controllers/api/agents_controller')
const RunsController = () => import('#agents/controllers/api/runs_controller')
const ThreadsController = () => import('#agents/controllers/api/threads_controller')
const OpenAiController = () => import('#agents/controllers/api/openai_controller')
const WorkflowsController = () => import('#agents/controllers/api/workflows_controller')
const ToolSettingsController = () => import('#agents/controllers/api/tool_settings_controller')
const KnowledgeController = () => import('#agents/controllers/api/knowledge_controller')
const EvaluationsController = () => import('#agents/controllers/api/evaluations_controller')
const MarketplaceController = () => import('#agents/controllers/api/marketplace_controller')
const KnowledgeSettingsController = () =>
  import('#agents/controllers/api/knowledge_settings_controller')

// The one API route that takes multipart bodies (a document's `file`).
acceptUploadsOn('agents.api.knowledge_documents.store')

router
  .group(() => {
    router.get('/agents', [AgentsController, 'index']).as('agents.api.agents.index')
    router.post('/agents', [AgentsController, 'store']).as('agents.api.agents.store')
    router.get('/agents/:idOrSlug', [AgentsController, 'show']).as('agents.api.agents.show')
    router.patch('/agents/:idOrSlug', [AgentsController, 'update']).as('agents.api.agents.update')
    router
      .delete('/agents/:idOrSlug', [AgentsController, 'destroy'])
      .as('agents.api.agents.destroy')
    router
      .get('/agents/:idOrSlug/versions', [AgentsController, 'versions'])
      .as('agents.api.versions.index')
    router.post('/agents/:idOrSlug/runs', [RunsController, 'store']).as('agents.api.runs.store')
    router.get('/workflows', [WorkflowsController, 'index']).as('agents.api.workflows.index')
    router.post('/workflows', [WorkflowsController, 'store']).as('agents.api.workflows.store')
    router
      .get('/workflows/:idOrSlug', [WorkflowsController, 'show'])
      .as('agents.api.workflows.show')
    router
      .patch('/workflows/:idOrSlug', [WorkflowsController, 'update'])
      .as('agents.api.workflows.update')
    router
      .delete('/workflows/:idOrSlug', [WorkflowsController, 'destroy'])
      .as('agents.api.workflows.destroy')
    router
      .get('/workflows/:idOrSlug/versions', [WorkflowsController, 'versions'])
      .as('agents.api.workflow_versions.index')
    router
      .post('/workflows/:idOrSlug/runs', [WorkflowsController, 'run'])
      .as('agents.api.workflow_runs.store')
    router
      .get('/tool-settings', [ToolSettingsController, 'show'])
      .as('agents.api.tool_settings.show')
    router
      .put('/tool-settings', [ToolSettingsController, 'update'])
      .as('agents.api.tool_settings.update')
    router
      .get('/knowledge/documents', [KnowledgeController, 'index'])
      .as('agents.api.knowledge_documents.index')
    router
      .post('/knowledge/documents', [KnowledgeController, 'store'])
      .as('agents.api.knowledge_documents.store')
    router
      .get('/knowledge/documents/:id', [KnowledgeController, 'show'])
      .as('agents.api.knowledge_documents.show')
    router
      .delete('/knowledge/documents/:id', [KnowledgeController, 'destroy'])
      .as('agents.api.knowledge_documents.destroy')
    router
      .post('/knowledge/documents/:id/reindexing', [KnowledgeController, 'reindex'])
      .as('agents.api.knowledge_reindexings.store')
    router
      .get('/knowledge/search', [KnowledgeController, 'search'])
      .as('agents.api.knowledge_search.index')
    router
      .post('/agents/:idOrSlug/listing', [MarketplaceController, 'publish'])
      .as('agents.api.listings.store')
    router
      .delete('/agents/:idOrSlug/listing', [MarketplaceController, 'unpublish'])
      .as('agents.api.listings.destroy')
    router.get('/marketplace', [MarketplaceController, 'index']).as('agents.api.marketplace.index')
    router
      .get('/marketplace/:id', [MarketplaceController, 'show'])
      .as('agents.api.marketplace.show')
    router
      .post('/marketplace/:id/installs', [MarketplaceController, 'install'])
      .as('agents.api.marketplace_installs.store')
    router
      .post('/marketplace/:id/reviews', [MarketplaceController, 'review'])
      .as('agents.api.marketplace_reviews.store')
    router
      .post('/agents/:idOrSlug/updates', [MarketplaceController, 'update'])
      .as('agents.api.agent_updates.store')
    // The public catalogue reads every workspace's listings and aggregates of their runs (never
    // a row of them), so these reads are not bound to the caller's tenant.
    readsNoTenantRows('agents.api.marketplace.index')
    readsNoTenantRows('agents.api.marketplace.show')
    router
      .get('/agents/:idOrSlug/eval-suites', [EvaluationsController, 'index'])
      .as('agents.api.eval_suites.index')
    router
      .post('/agents/:idOrSlug/eval-suites', [EvaluationsController, 'store'])
      .as('agents.api.eval_suites.store')
    router
      .get('/eval-suites/:id', [EvaluationsController, 'show'])
      .as('agents.api.eval_suites.show')
    router
      .get('/eval-suites/:id/runs', [EvaluationsController, 'runs'])
      .as('agents.api.eval_runs.index')
    router
      .post('/eval-suites/:id/runs', [EvaluationsController, 'start'])
      .as('agents.api.eval_runs.store')
    router.get('/eval-runs/:id', [EvaluationsController, 'result']).as('agents.api.eval_runs.show')
    router
      .get('/eval-runs/:id/comparison', [EvaluationsController, 'comparison'])
      .as('agents.api.eval_comparisons.show')
    router
      .get('/knowledge/settings', [KnowledgeSettingsController, 'show'])
      .as('agents.api.knowledge_settings.show')
    router
      .put('/knowledge/settings', [KnowledgeSettingsController, 'update'])
      .as('agents.api.knowledge_settings.update')
    router.get('/runs', [RunsController, 'index']).as('agents.api.runs.index')
    router.get('/runs/:id', [RunsController, 'show']).as('agents.api.runs.show')
    router.get('/runs/:id/events', [RunsController, 'events']).as('agents.api.run_events.index')
    router
      .post('/runs/:id/cancellation', [RunsController, 'cancellation'])
      .as('agents.api.cancellations.store')
    router.get('/threads', [ThreadsController, 'index']).as('agents.api.threads.index')
    router.post('/threads', [ThreadsController, 'store']).as('agents.api.threads.store')
    router.get('/threads/:id', [ThreadsController, 'show']).as('agents.api.threads.show')
    router
      .post('/chat/completions', [OpenAiController, 'completions'])
      .as('agents.api.chat_completions.store')
    router.get('/models', [OpenAiController, 'models']).as('agents.api.models.index')
  })
  .prefix('/api/v1')
  .use([middleware.api(), middleware.apiTenant()])
import '#agents/routes_web'
