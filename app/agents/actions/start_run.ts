import { randomUUID } from 'node:crypto'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { hold } from '#credits'
import Run from '#agents/models/run'
import type Agent from '#agents/models/agent'
import AgentVersion from '#agents/models/agent_version'
import Thread from '#agents/models/thread'
import { catalog, costMicros, type CatalogModel } from '#agents/services/catalog'
import { RunEventLog } from '#agents/services/run_events'
import { AgentInputError } from '#agents/actions/save_agent'
import { estimateTokens, promptCharacters, type ChatMessage, type SimulateOptions, type ToolDefinition } from '#agents/providers/types'
import type { ExecutionPlan } from '#agents/services/run_executor'

const HISTORY_LIMIT = 50

/**
 * Prepares a run: pins the agent's current version, builds the prompt (instructions, thread
 * history, input), places ONE hold covering the worst case over the model chain
 * (ceil(est_input × max input price + max_tokens × max output price)), then records the run.
 * The chain's prices are those in force now, at run start: the run is charged at them.
 * Not enough credits → InsufficientCreditsException (402) and no run is created.
 */
export async function prepareRun(input: {
  tenantId: string
  /** The agent to run, or null with `directModel` for a plain catalog-model call. */
  agent: Agent | null
  directModel?: { model: string; maxTokens?: number; temperature?: number | null; tools?: unknown[] }
  memberId: string | null
  text: string
  threadId?: string | null
  metadata?: Record<string, unknown>
  source: 'api' | 'web' | 'cli' | 'openai'
  queued?: boolean
  history?: ChatMessage[]
  /** Write the run row in parallel with the provider call (callers that never read it back early). */
  deferRecord?: boolean
}): Promise<ExecutionPlan> {
  const version = input.agent
    ? await AgentVersion.query().where('agentId', input.agent.id).where('version', input.agent.currentVersion).firstOrFail()
    : null
  const config = version
    ? { model: version.model, fallbacks: version.fallbackModels, instructions: version.instructions, maxTokens: version.maxTokens, temperature: version.temperature, tools: version.tools, metadata: version.metadata }
    : { model: input.directModel!.model, fallbacks: [], instructions: '', maxTokens: input.directModel!.maxTokens ?? 1024, temperature: input.directModel!.temperature ?? null, tools: input.directModel!.tools ?? [], metadata: {} as Record<string, any> }
  // The tenant's catalog: platform models and its own, never another tenant's.
  const models = await catalog(input.tenantId)
  const chain = [config.model, ...config.fallbacks].map((name) => models.get(name)).filter(Boolean) as CatalogModel[]
  if (chain.length === 0) throw new AgentInputError('model', `The model "${config.model}" is not in the catalog.`)

  let thread: Thread | null = null
  if (input.threadId) {
    thread = await Thread.query().where('tenantId', input.tenantId).where('id', input.threadId).first()
    if (!thread) throw new AgentInputError('thread_id', 'No such thread in this workspace.')
  }
  const history: ChatMessage[] = input.history ?? (thread ? await threadHistory(input.tenantId, thread.id) : [])
  const messages: ChatMessage[] = [
    ...(config.instructions ? [{ role: 'system' as const, content: config.instructions }] : []),
    ...history,
    { role: 'user', content: input.text },
  ]
  const maxTokens = config.maxTokens
  const worst = {
    inputPrice: chain.reduce((max, m) => (m.inputPrice > max ? m.inputPrice : max), 0n),
    outputPrice: chain.reduce((max, m) => (m.outputPrice > max ? m.outputPrice : max), 0n),
  }
  // A hold is never zero, even for free models (a tenant's own key priced at 0).
  const holdMicros = maxBigInt(1n, costMicros(estimateTokens(promptCharacters(messages)), maxTokens, worst))

  const runId = randomUUID()
  const placed = await hold({
    tenantId: input.tenantId,
    amount: holdMicros,
    reference: `run:${runId}`,
    memberId: input.memberId ?? undefined,
    agentId: input.agent?.id,
  })

  const simulate = { ...(config.metadata?.simulate ?? {}), ...((input.metadata?.simulate as object) ?? {}) } as SimulateOptions
  const run = new Run()
  run.fill({
    id: runId,
    tenantId: input.tenantId,
    agentId: input.agent?.id ?? null,
    agentVersionId: version?.id ?? null,
    version: version?.version ?? null,
    threadId: thread?.id ?? null,
    memberId: input.memberId,
    status: input.queued ? 'queued' : 'running',
    input: input.text,
    output: '',
    inputTokens: 0,
    outputTokens: 0,
    costMicros: 0n,
    holdMicros,
    holdId: placed.id,
    metadata: input.metadata ?? {},
    source: input.source,
    startedAt: input.queued ? null : DateTime.now(),
  })
  const record = async () => {
    if (!thread) return void (await run.save())
    await db.transaction(async (trx) => {
      run.useTransaction(trx)
      await run.save()
      await trx.table('messages').insert({ tenant_id: input.tenantId, thread_id: thread.id, run_id: runId, role: 'user', content: input.text })
      await trx.from('threads').where('id', thread.id).update({ updated_at: new Date() })
    })
  }
  // Deferred: the row is written once the provider request is on its way (one round trip less
  // before the first token); everything that writes about the run waits for it.
  const recorded = input.deferRecord ? new Promise<void>((resolve) => setImmediate(resolve)).then(record) : Promise.resolve(await record())
  recorded.catch(() => {})

  const events = new RunEventLog(input.tenantId, run.id, recorded)
  void events.emit('run', { id: run.id, status: run.status })
  return {
    run,
    recorded,
    messages,
    chain,
    maxTokens,
    temperature: config.temperature,
    tools: toolDefinitions(config.tools),
    simulate: Object.keys(simulate).length ? simulate : undefined,
    holdId: placed.id,
    holdMicros,
    events,
  }
}

async function threadHistory(tenantId: string, threadId: string): Promise<ChatMessage[]> {
  const rows = await db
    .from('messages')
    .where('tenant_id', tenantId)
    .where('thread_id', threadId)
    .orderBy('created_at', 'desc')
    .limit(HISTORY_LIMIT)
    .select('role', 'content')
  return rows.reverse().map((row) => ({ role: row.role, content: row.content }))
}

/**
 * The agent's tools as function definitions. Accepted shapes: OpenAI's
 * `{type: "function", function: {name, description, parameters}}`, a bare `{name, description,
 * parameters}` or Anthropic's `{name, description, input_schema}`; anything else is ignored.
 */
export function toolDefinitions(tools: unknown[] | null | undefined): ToolDefinition[] | undefined {
  const out: ToolDefinition[] = []
  for (const tool of tools ?? []) {
    if (!tool || typeof tool !== 'object') continue
    const raw = tool as Record<string, any>
    const fn = raw.type === 'function' && raw.function && typeof raw.function === 'object' ? raw.function : raw
    if (typeof fn.name !== 'string' || !fn.name) continue
    out.push({
      name: fn.name,
      ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
      ...(fn.parameters || fn.input_schema ? { parameters: fn.parameters ?? fn.input_schema } : {}),
    })
  }
  return out.length ? out : undefined
}

function maxBigInt(a: bigint, b: bigint) {
  return a > b ? a : b
}
