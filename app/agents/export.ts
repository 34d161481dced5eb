/*
 * The agents module's part of the tenant data export (registered through the tenants door):
 * agents with versions, threads with messages, runs with steps and events, and the workspace's
 * own providers and models — never an API key or a header value.
 */
import db from '@adonisjs/lucid/services/db'
import { keysetRows } from '#core'
import { registerTenantExport, tableRows } from '#tenants'
import { PUBLIC_COLUMNS } from '#agents/actions/manage_providers'

registerTenantExport(
  'agents',
  tableRows('agents', [
    'id',
    'slug',
    'name',
    'description',
    'visibility',
    'current_version',
    'created_by',
    'created_at',
    'updated_at',
    'deleted_at',
  ])
)
registerTenantExport(
  'agent_versions',
  tableRows('agent_versions', [
    'id',
    'agent_id',
    'version',
    'instructions',
    'model',
    'fallback_models',
    'temperature',
    'max_tokens',
    'tools',
    'max_steps',
    'metadata',
    'created_by',
    'created_at',
  ])
)
registerTenantExport(
  'threads',
  tableRows('threads', ['id', 'agent_id', 'title', 'created_by', 'created_at', 'updated_at'])
)
registerTenantExport(
  'messages',
  tableRows('messages', ['id', 'thread_id', 'run_id', 'role', 'content', 'created_at'])
)
registerTenantExport(
  'runs',
  tableRows(
    'runs',
    [
      'id',
      'agent_id',
      'agent_version_id',
      'version',
      'workflow_id',
      'workflow_version_id',
      'workflow_version',
      'thread_id',
      'member_id',
      'status',
      'source',
      'input',
      'output',
      'model',
      'input_tokens',
      'output_tokens',
      'cached_tokens',
      'reasoning_tokens',
      'usage_estimated',
      'usage_over_hold',
      'cost_micros',
      'hold_micros',
      'hold_id',
      'price',
      'error',
      'error_type',
      'latency_ms',
      'ttft_ms',
      'attempts',
      'metadata',
      'created_at',
      'started_at',
      'finished_at',
      'cancel_requested_at',
    ],
    // On the (tenant_id, created_at) index: runs is the table that grows.
    { key: ['created_at', 'id'] }
  )
)
registerTenantExport(
  'run_steps',
  tableRows('run_steps', [
    'id',
    'run_id',
    'position',
    'parent',
    'kind',
    'name',
    'model',
    'status',
    'input',
    'output',
    'duration_ms',
    'input_tokens',
    'output_tokens',
    'cost_micros',
    'usage_estimated',
    'price',
    'tool_calls',
    'error',
    'started_at',
    'finished_at',
  ])
)
registerTenantExport(
  'workflows',
  tableRows('workflows', [
    'id',
    'slug',
    'name',
    'description',
    'current_version',
    'created_by',
    'created_at',
    'updated_at',
    'deleted_at',
  ])
)
registerTenantExport(
  'workflow_versions',
  tableRows('workflow_versions', [
    'id',
    'workflow_id',
    'version',
    'steps',
    'created_by',
    'created_at',
  ])
)
registerTenantExport(
  'tool_settings',
  tableRows('tool_settings', ['tenant_id', 'http_allowed_hosts', 'updated_at'], {
    key: ['tenant_id'],
  })
)
// Documents without their uploaded bytes (the extracted text is in knowledge_chunks).
registerTenantExport(
  'knowledge_documents',
  tableRows('knowledge_documents', [
    'id',
    'name',
    'media_type',
    'kind',
    'bytes',
    'status',
    'error',
    'chunks',
    'embedding_model',
    'created_by',
    'created_at',
    'updated_at',
  ])
)
registerTenantExport(
  'knowledge_chunks',
  tableRows('knowledge_chunks', ['id', 'document_id', 'position', 'text'])
)
registerTenantExport(
  'knowledge_settings',
  tableRows('knowledge_settings', ['tenant_id', 'embedding_model', 'updated_at'], {
    key: ['tenant_id'],
  })
)
registerTenantExport(
  'listing_reviews',
  tableRows('listing_reviews', [
    'id',
    'listing_id',
    'rating',
    'body',
    'created_by',
    'created_at',
    'updated_at',
  ])
)
registerTenantExport(
  'eval_suites',
  tableRows('eval_suites', ['id', 'agent_id', 'name', 'created_by', 'created_at', 'updated_at'])
)
registerTenantExport(
  'eval_cases',
  tableRows('eval_cases', ['id', 'suite_id', 'position', 'input', 'assertions'])
)
registerTenantExport(
  'eval_runs',
  tableRows('eval_runs', [
    'id',
    'suite_id',
    'agent_id',
    'agent_version',
    'status',
    'total',
    'passed',
    'failed',
    'error',
    'created_by',
    'created_at',
    'started_at',
    'finished_at',
  ])
)
registerTenantExport(
  'eval_results',
  tableRows('eval_results', [
    'id',
    'eval_run_id',
    'position',
    'input',
    'run_id',
    'passed',
    'failures',
    'output',
    'latency_ms',
    'cost_micros',
    'created_at',
  ])
)
registerTenantExport(
  'run_events',
  tableRows('run_events', ['id', 'run_id', 'seq', 'event', 'data', 'created_at'])
)

/** Settings keys that hold secrets (sealed header values and the like), whatever their name. */
const SECRET_SETTING = /(^|_)(secret|sealed|encrypted|password|token|api_key)(_|$)/i

/** Provider settings without secrets: header names stay (values masked), sealed values go. */
function publicSettings(raw: unknown) {
  const settings = ((typeof raw === 'string' ? JSON.parse(raw) : raw) ?? {}) as Record<
    string,
    unknown
  >
  const names = new Set<string>()
  const kept: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(settings)) {
    if (/headers/i.test(name)) {
      for (const header of Object.keys((value as Record<string, unknown>) ?? {})) names.add(header)
    } else if (!SECRET_SETTING.test(name)) {
      kept[name] = value
    }
  }
  if (names.size) kept.headers = Object.fromEntries([...names].map((name) => [name, '[redacted]']))
  return kept
}

const providerRows = tableRows(
  'providers',
  PUBLIC_COLUMNS.filter((column) => column !== 'tenant_id')
)
registerTenantExport('providers', async function* (tenantId) {
  for await (const row of providerRows(tenantId))
    yield { ...row, settings: publicSettings(row.settings) }
})
registerTenantExport(
  'models',
  tableRows('models', [
    'id',
    'provider_id',
    'name',
    'upstream_model',
    'context_window',
    'input_price_micros',
    'output_price_micros',
    'created_at',
    'updated_at',
  ])
)
// The price book has no tenant_id: a workspace's prices are those of its own models.
registerTenantExport(
  'model_prices',
  (tenantId) =>
    keysetRows(
      () =>
        db
          .from('model_prices')
          .join('models', 'models.id', 'model_prices.model_id')
          .where('models.tenant_id', tenantId)
          .select(
            'model_prices.id',
            'model_prices.model_id',
            'model_prices.input_price_micros',
            'model_prices.output_price_micros',
            'model_prices.effective_from',
            'model_prices.created_by',
            'model_prices.created_at'
          ),
      { key: ['model_prices.id'] }
    ),
  { tables: ['model_prices'] }
)
