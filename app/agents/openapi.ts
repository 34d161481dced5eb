/*
 * The agents module's part of the OpenAPI document: its /api/v1 routes, described with the
 * validators the controllers use and the schemas their DTOs are typed by.
 */
import vine from '@vinejs/vine'
import { addApiOperation, addApiSchema, pageSchema } from '#core'
import { CATEGORIES } from '#agents/actions/marketplace'
import { agentSchema, agentVersionSchema } from '#agents/dtos/agent'
import { runCancellationSchema, runSchema } from '#agents/dtos/run'
import { threadSchema, threadWithMessagesSchema } from '#agents/dtos/thread'
import { chatCompletionSchema, modelListSchema } from '#agents/dtos/openai'
import { workflowSchema, workflowVersionSchema } from '#agents/dtos/workflow'
import { toolSettingsValidator } from '#agents/validators/tools'
import { knowledgeDocumentSchema, knowledgeHitSchema } from '#agents/dtos/knowledge'
import {
  knowledgeSearchValidator,
  knowledgeSettingsValidator,
  textDocumentValidator,
} from '#agents/validators/knowledge'
import { createWorkflowValidator, updateWorkflowValidator } from '#agents/validators/workflows'
import {
  createAgentValidator,
  listRunsValidator,
  startRunValidator,
  updateAgentValidator,
} from '#agents/validators/agents'
import { threadValidator } from '#agents/validators/threads'
import { completionValidator } from '#agents/validators/openai'

addApiSchema('Agent', agentSchema)
addApiSchema('AgentVersion', agentVersionSchema)
addApiSchema('Run', runSchema)
addApiSchema('RunCancellation', runCancellationSchema)
addApiSchema('Thread', threadSchema)
addApiSchema('ThreadWithMessages', threadWithMessagesSchema)
addApiSchema('ChatCompletion', chatCompletionSchema)
addApiSchema('ModelList', modelListSchema)
const toolSettingsSchema = vine.object({ http_allowed_hosts: vine.array(vine.string()) })
addApiSchema('Workflow', workflowSchema)
addApiSchema('WorkflowVersion', workflowVersionSchema)

const agentParam = { idOrSlug: "The agent's id or slug" }
const runParam = { id: "The run's id" }
const created = { Location: 'The URL of what was created' }
const idempotencyKey = {
  'Idempotency-Key':
    'Replays the stored response for the same body within 24 h; 409 while the first is in flight or for another body',
}

addApiOperation('get', '/agents', {
  name: 'agents.api.agents.index',
  summary: 'Agents, newest first',
  ability: 'agents:read',
  paged: true,
  responses: { 200: { description: 'One page', json: pageSchema('Agent') } },
})
addApiOperation('post', '/agents', {
  name: 'agents.api.agents.store',
  summary: 'Create an agent (version 1)',
  description: 'A taken slug is a 422 on `slug`.',
  ability: 'agents:write',
  body: createAgentValidator,
  responses: { 201: { description: 'The agent', json: 'Agent', headers: created } },
})
addApiOperation('get', '/agents/:idOrSlug', {
  name: 'agents.api.agents.show',
  summary: 'One agent with its current version',
  ability: 'agents:read',
  params: agentParam,
  responses: { 200: { description: 'The agent', json: 'Agent' } },
})
addApiOperation('patch', '/agents/:idOrSlug', {
  name: 'agents.api.agents.update',
  summary: 'Update an agent: every change is a new version',
  ability: 'agents:write',
  params: agentParam,
  body: updateAgentValidator,
  responses: { 200: { description: 'The agent', json: 'Agent' } },
})
addApiOperation('delete', '/agents/:idOrSlug', {
  name: 'agents.api.agents.destroy',
  summary: 'Delete an agent',
  ability: 'agents:write',
  params: agentParam,
  responses: { 204: { description: 'Deleted' } },
})
addApiOperation('get', '/agents/:idOrSlug/versions', {
  name: 'agents.api.versions.index',
  summary: "An agent's versions, newest first (one page: `next_cursor` is null)",
  ability: 'agents:read',
  params: agentParam,
  responses: { 200: { description: 'Every version', json: pageSchema('AgentVersion') } },
})
addApiOperation('post', '/agents/:idOrSlug/runs', {
  name: 'agents.api.runs.store',
  summary: 'Run an agent',
  description:
    'Answers 201 with the finished run (a provider failure too: `status: "failed"` with `error`); ' +
    '`async: true` answers 202 with the run `queued`; `Accept: text/event-stream` streams it. ' +
    'One hold covers the worst case: 402 when available credits do not, 403 when a budget would be exceeded.',
  ability: 'runs:write',
  params: agentParam,
  headers: idempotencyKey,
  body: startRunValidator,
  responses: {
    200: {
      description: 'The run as it happens',
      eventStream:
        'Events `run` ({id, status}) first, then `delta` ({text}) …, ' +
        'then `done` (the run) or `error` (a problem document); each event has an id.',
    },
    201: { description: 'The finished run', json: 'Run', headers: created },
    202: { description: 'The run, queued', json: 'Run', headers: created },
  },
  errors: [402, 409],
})
const workflowParam = { idOrSlug: "The workflow's id or slug" }
addApiOperation('get', '/workflows', {
  name: 'agents.api.workflows.index',
  summary: 'Workflows, newest first',
  ability: 'agents:read',
  paged: true,
  responses: { 200: { description: 'One page', json: pageSchema('Workflow') } },
})
addApiOperation('post', '/workflows', {
  name: 'agents.api.workflows.store',
  summary: 'Create a workflow (version 1): agents run in order, each input a template',
  description:
    'Templates use `{{input}}` and `{{steps.N.output}}` (N from 1, earlier steps only); a step ' +
    "without `input` takes the previous step's output. An unknown agent is a 422 on `steps.N.agent`.",
  ability: 'agents:write',
  body: createWorkflowValidator,
  responses: { 201: { description: 'The workflow', json: 'Workflow', headers: created } },
})
addApiOperation('get', '/workflows/:idOrSlug', {
  name: 'agents.api.workflows.show',
  summary: 'One workflow with its current steps',
  ability: 'agents:read',
  params: workflowParam,
  responses: { 200: { description: 'The workflow', json: 'Workflow' } },
})
addApiOperation('patch', '/workflows/:idOrSlug', {
  name: 'agents.api.workflows.update',
  summary: 'Update a workflow: every change is a new version',
  ability: 'agents:write',
  params: workflowParam,
  body: updateWorkflowValidator,
  responses: { 200: { description: 'The workflow', json: 'Workflow' } },
})
addApiOperation('delete', '/workflows/:idOrSlug', {
  name: 'agents.api.workflows.destroy',
  summary: 'Delete a workflow',
  ability: 'agents:write',
  params: workflowParam,
  responses: { 204: { description: 'Deleted' } },
})
addApiOperation('get', '/workflows/:idOrSlug/versions', {
  name: 'agents.api.workflow_versions.index',
  summary: "A workflow's versions, newest first (one page: `next_cursor` is null)",
  ability: 'agents:read',
  params: workflowParam,
  responses: { 200: { description: 'Every version', json: pageSchema('WorkflowVersion') } },
})
addApiOperation('post', '/workflows/:idOrSlug/runs', {
  name: 'agents.api.workflow_runs.store',
  summary: 'Run a workflow: one hold and one charge for all its steps',
  description:
    'Like an agent run (JSON, `Accept: text/event-stream`, `async: true`, Idempotency-Key). The hold ' +
    'covers the first model call and is extended before each later one; when the credits do not ' +
    'cover it the run ends `failed` with a `credits_exhausted` problem. Only the last step streams ' +
    '`delta` events; `step` events announce each finished step.',
  ability: 'runs:write',
  params: workflowParam,
  headers: idempotencyKey,
  body: startRunValidator,
  responses: {
    200: { description: 'The run as it happens', eventStream: 'As for an agent run, plus `step`' },
    201: { description: 'The finished run', json: 'Run', headers: created },
    202: { description: 'The run, queued', json: 'Run', headers: created },
  },
  errors: [402, 409],
})
addApiSchema('ToolSettings', toolSettingsSchema)
addApiSchema('KnowledgeDocument', knowledgeDocumentSchema)
addApiSchema('KnowledgeHit', knowledgeHitSchema)
const documentParam = { id: "The document's id" }
addApiOperation('get', '/knowledge/documents', {
  name: 'agents.api.knowledge_documents.index',
  summary: "The workspace's knowledge documents, newest first",
  ability: 'agents:read',
  paged: true,
  responses: { 200: { description: 'One page', json: pageSchema('KnowledgeDocument') } },
})
addApiOperation('post', '/knowledge/documents', {
  name: 'agents.api.knowledge_documents.store',
  summary: 'Add a document: multipart `file` (text, Markdown, CSV or PDF, ≤ 10 MB) or JSON',
  description:
    'The type is decided by the content, not the name. Answers 201 at once with `status: ' +
    '"processing"`; extraction, chunking and indexing are a queued job (`progress`), ending ' +
    '`ready` or `failed` with `error`. An unsupported, empty or too large file is a 422 on `file`.',
  ability: 'knowledge:write',
  body: textDocumentValidator,
  responses: {
    201: { description: 'The document', json: 'KnowledgeDocument', headers: created },
  },
})
addApiOperation('get', '/knowledge/documents/:id', {
  name: 'agents.api.knowledge_documents.show',
  summary: 'One document (status and progress while processing)',
  ability: 'agents:read',
  params: documentParam,
  responses: { 200: { description: 'The document', json: 'KnowledgeDocument' } },
})
addApiOperation('delete', '/knowledge/documents/:id', {
  name: 'agents.api.knowledge_documents.destroy',
  summary: 'Delete a document with its chunks and vectors',
  ability: 'knowledge:write',
  params: documentParam,
  responses: { 204: { description: 'Deleted' } },
})
addApiOperation('post', '/knowledge/documents/:id/reindexing', {
  name: 'agents.api.knowledge_reindexings.store',
  summary: 'Index a document again',
  description: '409 while another indexer is still making progress on it.',
  ability: 'knowledge:write',
  params: documentParam,
  responses: { 202: { description: 'The document, processing', json: 'KnowledgeDocument' } },
  errors: [409],
})
addApiOperation('get', '/knowledge/search', {
  name: 'agents.api.knowledge_search.index',
  summary: "Search the workspace's documents, best first",
  description:
    'Full-text search always; with pgvector, hybrid (reciprocal rank fusion of full-text and ' +
    'vector similarity). `mode` says which ran.',
  ability: 'agents:read',
  query: knowledgeSearchValidator,
  responses: {
    200: {
      description: 'The hits',
      json: vine.object({
        data: vine.array(knowledgeHitSchema),
        mode: vine.enum(['hybrid', 'fulltext', 'vector'] as const),
      }),
    },
  },
})
const knowledgeSettingsSchema = vine.object({
  embedding_model: vine.string().nullable().meta({
    description: 'The model that embeds documents and queries; null: full-text search only',
  }),
  vector_search: vine.boolean().meta({ description: 'False without pgvector: full text only' }),
  embedding_models: vine.array(
    vine.object({ name: vine.string(), input_price_micros: vine.string() })
  ),
})
addApiOperation('get', '/knowledge/settings', {
  name: 'agents.api.knowledge_settings.show',
  summary: "The workspace's embedding model and the ones it may choose",
  description: 'Without a choice, `simulator/embed` (free, offline).',
  ability: 'agents:read',
  responses: { 200: { description: 'The settings', json: knowledgeSettingsSchema } },
})
addApiOperation('put', '/knowledge/settings', {
  name: 'agents.api.knowledge_settings.update',
  summary: 'Choose the embedding model (owners and admins)',
  description:
    'A change re-embeds every ready document in the background (they stay searchable by ' +
    'their words meanwhile), paid like runs with a priced model; `reindexing` counts them. ' +
    'An unknown or non-embedding model is a 422 on `embedding_model`.',
  ability: 'agents:write',
  body: knowledgeSettingsValidator,
  responses: {
    200: {
      description: 'The stored settings',
      json: vine.object({
        ...knowledgeSettingsSchema.getProperties(),
        reindexing: vine.number().withoutDecimals(),
      }),
    },
  },
})
const assertionJson = {
  type: 'object',
  required: ['type', 'value'],
  properties: {
    type: {
      type: 'string',
      enum: [
        'contains',
        'not_contains',
        'regex',
        'equals',
        'json_schema',
        'max_latency_ms',
        'max_cost_credits',
      ],
    },
    value: {
      description:
        'Text (contains, not_contains, equals), a JavaScript pattern (regex), a JSON Schema ' +
        '(json_schema, checked against the output parsed as JSON), milliseconds or credits',
    },
  },
}
const caseJson = {
  type: 'object',
  required: ['input', 'assertions'],
  properties: {
    input: { type: 'string', maxLength: 10000 },
    assertions: { type: 'array', minItems: 1, maxItems: 20, items: assertionJson },
  },
}
addApiSchema('EvalSuite', {
  type: 'object',
  required: ['id', 'agent_id', 'name', 'created_at'],
  properties: {
    id: { type: 'string' },
    agent_id: { type: 'string' },
    name: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    cases: { type: 'array', items: caseJson },
  },
})
const evalResultJson = {
  type: 'object',
  properties: {
    case: { type: 'integer', description: 'From 1, in suite order' },
    input: { type: 'string' },
    run_id: { type: ['string', 'null'] },
    passed: { type: 'boolean' },
    failures: { type: 'array', items: { type: 'string' } },
    output: { type: ['string', 'null'] },
    latency_ms: { type: ['integer', 'null'] },
    cost_credits: { type: 'number' },
  },
}
const evalRunSummary = {
  id: { type: 'string' },
  suite_id: { type: 'string' },
  agent_id: { type: 'string' },
  version: { type: 'integer' },
  status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed'] },
  total: { type: 'integer' },
  passed: { type: 'integer' },
  failed: { type: 'integer' },
  pass_rate: { type: ['number', 'null'], description: 'passed / cases run so far' },
  error: { type: ['string', 'null'], description: 'Why it stopped (credits, rate limit…)' },
  created_at: { type: 'string', format: 'date-time' },
  finished_at: { type: ['string', 'null'], format: 'date-time' },
}
addApiSchema('EvalRun', {
  type: 'object',
  required: ['id', 'status', 'passed', 'failed', 'pass_rate'],
  properties: { ...evalRunSummary, results: { type: 'array', items: evalResultJson } },
})
const suiteParam = { id: "The suite's id" }
addApiOperation('get', '/agents/:idOrSlug/eval-suites', {
  name: 'agents.api.eval_suites.index',
  summary: "An agent's evaluation suites, newest first",
  ability: 'agents:read',
  params: agentParam,
  paged: true,
  responses: { 200: { description: 'One page', json: pageSchema('EvalSuite') } },
})
addApiOperation('post', '/agents/:idOrSlug/eval-suites', {
  name: 'agents.api.eval_suites.store',
  summary: 'Create an evaluation suite: cases of input and assertions',
  description:
    'At most 100 cases of 20 assertions; a name is unique per agent. A bad assertion is a 422 ' +
    'on `cases.N.assertions.M.value` (a regex or JSON Schema that does not compile included).',
  ability: 'agents:write',
  params: agentParam,
  body: {
    type: 'object',
    required: ['name', 'cases'],
    properties: {
      name: { type: 'string', maxLength: 120 },
      cases: { type: 'array', minItems: 1, maxItems: 100, items: caseJson },
    },
  },
  responses: { 201: { description: 'The suite', json: 'EvalSuite', headers: created } },
})
addApiOperation('get', '/eval-suites/:id', {
  name: 'agents.api.eval_suites.show',
  summary: 'A suite with its cases',
  ability: 'agents:read',
  params: suiteParam,
  responses: { 200: { description: 'The suite', json: 'EvalSuite' } },
})
addApiOperation('get', '/eval-suites/:id/runs', {
  name: 'agents.api.eval_runs.index',
  summary: "A suite's runs, newest first (without their results)",
  ability: 'runs:read',
  params: suiteParam,
  paged: true,
  responses: { 200: { description: 'One page', json: pageSchema('EvalRun') } },
})
addApiOperation('post', '/eval-suites/:id/runs', {
  name: 'agents.api.eval_runs.store',
  summary: 'Run a suite against a version of its agent (default: the current one)',
  description:
    'A queued job runs every case as a real run of that version, billed like any run; a run ' +
    'refused for credits or limits stops the evaluation `failed` with the reason.',
  ability: 'runs:write',
  params: suiteParam,
  body: {
    type: 'object',
    properties: { version: { type: ['integer', 'null'], minimum: 1 } },
  },
  responses: { 202: { description: 'Queued', json: 'EvalRun', headers: created } },
})
addApiOperation('get', '/eval-runs/:id', {
  name: 'agents.api.eval_runs.show',
  summary: 'An evaluation run with its results so far',
  ability: 'runs:read',
  params: { id: "The evaluation run's id" },
  responses: { 200: { description: 'The evaluation', json: 'EvalRun' } },
})
addApiOperation('get', '/eval-runs/:id/comparison', {
  name: 'agents.api.eval_comparisons.show',
  summary: 'Two runs of one suite side by side, case by case',
  description:
    '`change` per case: same, changed_output, fixed (failed in `a`, passed in `b`), broken or ' +
    'missing. Runs of different suites are a 422 on `with`.',
  ability: 'runs:read',
  params: { id: "The first evaluation run's id (`a`)" },
  query: {
    type: 'object',
    required: ['with'],
    properties: { with: { type: 'string', description: 'The other evaluation run (`b`)' } },
  },
  responses: {
    200: {
      description: 'The comparison',
      json: {
        type: 'object',
        properties: {
          suite_id: { type: 'string' },
          a: { type: 'object', properties: evalRunSummary },
          b: { type: 'object', properties: evalRunSummary },
          cases: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                case: { type: 'integer' },
                input: { type: 'string' },
                change: {
                  type: 'string',
                  enum: ['same', 'changed_output', 'fixed', 'broken', 'missing'],
                },
                a: { anyOf: [evalResultJson, { type: 'null' }] },
                b: { anyOf: [evalResultJson, { type: 'null' }] },
              },
            },
          },
        },
      },
    },
  },
})
const listingProps = {
  id: { type: 'string' },
  title: { type: 'string' },
  summary: { type: 'string' },
  category: { type: 'string' },
  tags: { type: 'array', items: { type: 'string' } },
  examples: { type: 'array', items: { type: 'string' } },
  publisher: { type: 'object', properties: { name: { type: 'string' } } },
  version: { type: 'integer' },
  featured: { type: 'boolean' },
  rating: {
    type: 'object',
    properties: { average: { type: ['number', 'null'] }, count: { type: 'integer' } },
  },
  eval_pass_rate: {
    type: ['number', 'null'],
    description: "The published version's latest finished evaluation",
  },
  median_credits_per_run: { type: ['number', 'null'] },
  published_at: { type: 'string', format: 'date-time' },
  config: {
    type: 'object',
    description:
      'The published configuration (detail only): instructions, model, fallback_models, ' +
      'temperature, max_tokens, tools, max_steps',
  },
}
addApiSchema('Listing', { type: 'object', required: ['id', 'title'], properties: listingProps })
const categories = [...CATEGORIES]
addApiOperation('post', '/agents/:idOrSlug/listing', {
  name: 'agents.api.listings.store',
  summary: "Publish the agent's current version to the marketplace (owners and admins)",
  description:
    'Republishing moves the listing to the current version. Behind the `marketplace.publish` ' +
    'flag (403 when off for the workspace). A version with knowledge, handoffs or a model of ' +
    "the workspace's own providers is a 422 on `knowledge`, `tools` or `model`.",
  ability: 'agents:write',
  params: agentParam,
  body: {
    type: 'object',
    required: ['title', 'summary', 'category'],
    properties: {
      title: { type: 'string', maxLength: 120 },
      summary: { type: 'string', maxLength: 500 },
      category: { type: 'string', enum: categories },
      tags: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 30 } },
      examples: { type: 'array', maxItems: 5, items: { type: 'string', maxLength: 300 } },
    },
  },
  responses: { 201: { description: 'The listing', json: 'Listing', headers: created } },
})
addApiOperation('delete', '/agents/:idOrSlug/listing', {
  name: 'agents.api.listings.destroy',
  summary: 'Unpublish (installed copies keep working)',
  ability: 'agents:write',
  params: agentParam,
  responses: { 204: { description: 'Unpublished' } },
})
addApiOperation('get', '/marketplace', {
  name: 'agents.api.marketplace.index',
  summary: 'Published listings of every workspace, newest first',
  ability: 'agents:read',
  paged: true,
  query: {
    type: 'object',
    properties: {
      q: { type: 'string', maxLength: 200, description: 'Full-text search (websearch syntax)' },
      category: { type: 'string', enum: categories },
    },
  },
  responses: { 200: { description: 'One page', json: pageSchema('Listing') } },
})
addApiOperation('get', '/marketplace/:id', {
  name: 'agents.api.marketplace.show',
  summary: 'One listing with its published configuration',
  ability: 'agents:read',
  params: { id: "The listing's id" },
  responses: { 200: { description: 'The listing', json: 'Listing' } },
})
addApiOperation('post', '/marketplace/:id/installs', {
  name: 'agents.api.marketplace_installs.store',
  summary: 'Install a listing: a new agent in your workspace, linked to the listing',
  description:
    'The copy runs on your providers and credits. `GET /marketplace/:id` lists your copies ' +
    'under `installed` with `update_available`; `POST /agents/:idOrSlug/updates` applies one.',
  ability: 'agents:write',
  params: { id: "The listing's id" },
  responses: { 201: { description: 'The new agent', json: 'Agent', headers: created } },
})
addApiOperation('post', '/marketplace/:id/reviews', {
  name: 'agents.api.marketplace_reviews.store',
  summary: 'Review a listing (one per workspace: a second replaces the first)',
  description:
    'Only after a succeeded run of an installed copy (403 before), and never by the publisher.',
  ability: 'agents:write',
  params: { id: "The listing's id" },
  body: {
    type: 'object',
    required: ['rating'],
    properties: {
      rating: { type: 'integer', minimum: 1, maximum: 5 },
      body: { type: 'string', maxLength: 2000 },
    },
  },
  responses: {
    201: {
      description: 'The review',
      json: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          rating: { type: 'integer' },
          body: { type: 'string' },
          created_at: { type: 'string', format: 'date-time' },
          updated_at: { type: 'string', format: 'date-time' },
        },
      },
    },
  },
})
addApiOperation('post', '/agents/:idOrSlug/updates', {
  name: 'agents.api.agent_updates.store',
  summary: "Bring an installed agent to its listing's published version",
  description: 'A new version of the agent; 409 when it already runs the published version.',
  ability: 'agents:write',
  params: agentParam,
  responses: { 200: { description: 'The agent', json: 'Agent' } },
  errors: [409],
})
addApiOperation('get', '/tool-settings', {
  name: 'agents.api.tool_settings.show',
  summary: "The workspace's tool settings: the hosts http_request may reach",
  ability: 'agents:read',
  responses: { 200: { description: 'The settings', json: 'ToolSettings' } },
})
addApiOperation('put', '/tool-settings', {
  name: 'agents.api.tool_settings.update',
  summary: 'Replace the http_request allow-list (owners and admins)',
  description:
    'Host names, `*.example.com` for any subdomain, optional `:port`; stored in canonical form. ' +
    'A bad entry is a 422 on `http_allowed_hosts.N`; at most 100 hosts.',
  ability: 'agents:write',
  body: toolSettingsValidator,
  responses: { 200: { description: 'The stored settings', json: 'ToolSettings' } },
})
addApiOperation('get', '/runs', {
  name: 'agents.api.runs.index',
  summary: 'Runs, newest first (without their steps)',
  ability: 'runs:read',
  paged: true,
  query: listRunsValidator,
  responses: { 200: { description: 'One page', json: pageSchema('Run') } },
})
addApiOperation('get', '/runs/:id', {
  name: 'agents.api.runs.show',
  summary: 'One run with its steps',
  ability: 'runs:read',
  params: runParam,
  responses: { 200: { description: 'The run', json: 'Run' } },
})
addApiOperation('get', '/runs/:id/events', {
  name: 'agents.api.run_events.index',
  summary: "The run's event stream, from any process",
  description: 'A finished run replays its events and closes.',
  ability: 'runs:read',
  params: runParam,
  headers: { 'Last-Event-ID': 'Resume after this event id' },
  query: {
    type: 'object',
    properties: {
      last_event_id: {
        type: 'integer',
        description: 'As `Last-Event-ID`, for clients that cannot set headers',
      },
    },
  },
  responses: {
    200: {
      description: 'The events',
      eventStream:
        '`run`, `delta` …, then `done` (the run) or `error` (a problem document), each with its id.',
    },
  },
})
addApiOperation('post', '/runs/:id/cancellation', {
  name: 'agents.api.cancellations.store',
  summary: 'Cancel a run: it ends `cancelled` within 2 s',
  ability: 'runs:write',
  params: runParam,
  responses: {
    202: {
      description: 'Cancelling (or the status of a run already over)',
      json: 'RunCancellation',
    },
  },
})
addApiOperation('get', '/threads', {
  name: 'agents.api.threads.index',
  summary: 'Conversations, newest first',
  ability: 'runs:read',
  paged: true,
  responses: { 200: { description: 'One page', json: pageSchema('Thread') } },
})
addApiOperation('post', '/threads', {
  name: 'agents.api.threads.store',
  summary: 'Start a conversation',
  ability: 'runs:write',
  body: threadValidator,
  responses: { 201: { description: 'The thread', json: 'Thread', headers: created } },
})
addApiOperation('get', '/threads/:id', {
  name: 'agents.api.threads.show',
  summary: 'A conversation and its messages',
  ability: 'runs:read',
  params: { id: "The thread's id" },
  responses: { 200: { description: 'The thread', json: 'ThreadWithMessages' } },
})
addApiOperation('post', '/chat/completions', {
  name: 'agents.api.chat_completions.store',
  summary: 'OpenAI-compatible chat completion',
  description:
    '`model` is `agent:<slug>` (runs that agent, billed and recorded like any run) or a catalog model id. ' +
    "Errors use OpenAI's shape; non-retryable ones carry `x-should-retry: false`.",
  ability: 'runs:write',
  headers: idempotencyKey,
  body: completionValidator,
  errorShape: 'openai',
  responses: {
    200: {
      description: 'The completion, or with `stream: true` its chunks',
      json: 'ChatCompletion',
      eventStream:
        '`data:` lines of `chat.completion.chunk` objects (the last with `usage`), then `data: [DONE]`.',
    },
  },
  errors: [402, 404, 409, 502],
})
addApiOperation('get', '/models', {
  name: 'agents.api.models.index',
  summary: 'OpenAI-compatible model list: catalog models and `agent:<slug>` entries',
  ability: 'agents:read',
  errorShape: 'openai',
  responses: { 200: { description: 'The models', json: 'ModelList' } },
})
