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
import { estimateTokens, promptCharacters, type ChatMessage, type SimulateOptions } from '#agents/providers/types'
import type { ExecutionPlan } from '#agents/services/run_executor'

const HISTORY_LIMIT = 50

/**
 * Prepares a run: pins the agent's current version, builds the prompt (instructions, thread
 * history, input), places ONE hold covering the worst case over the model chain
 * (ceil(est_input × max input price + max_tokens × max output price)), then records the run.
 * Not enough credits → InsufficientCreditsException (402) and no run is created.
 */
export async function prepareRun(input: {
  tenantId: string
  /** The agent to run, or null with `directModel` for a plain catalog-model call. */
  agent: Agent | null
  directModel?: { model: string; maxTokens?: number; temperature?: number | null }
  memberId: string | null
  text: string
  threadId?: string | null
  metadata?: Record<string, unknown>
  source: 'api' | 'web' | 'cli' | 'openai'
  queued?: boolean
  history?: ChatMessage[]
}): Promise<ExecutionPlan> {
  const version = input.agent
    ? await AgentVersion.query().where('agentId', input.agent.id).where('version', input.agent.currentVersion).firstOrFail()
    : null
  const config = version
    ? { model: version.model, fallbacks: version.fallbackModels, instructions: version.instructions, maxTokens: version.maxTokens, temperature: version.temperature, metadata: version.metadata }
    : { model: input.directModel!.model, fallbacks: [], instructions: '', maxTokens: input.directModel!.maxTokens ?? 1024, temperature: input.directModel!.temperature ?? null, metadata: {} as Record<string, any> }
  const models = await catalog()
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
  const holdMicros = costMicros(estimateTokens(promptCharacters(messages)), maxTokens, worst)

  const runId = (await db.rawQuery('SELECT gen_random_uuid() AS id')).rows[0].id as string
  const placed = await hold({
    tenantId: input.tenantId,
    amount: holdMicros,
    reference: `run:${runId}`,
    memberId: input.memberId ?? undefined,
    agentId: input.agent?.id,
  })

  const simulate = { ...(config.metadata?.simulate ?? {}), ...((input.metadata?.simulate as object) ?? {}) } as SimulateOptions
  const run = await db.transaction(async (trx) => {
    const created = await Run.create(
      {
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
      },
      { client: trx }
    )
    if (thread) {
      await trx.table('messages').insert({ tenant_id: input.tenantId, thread_id: thread.id, run_id: runId, role: 'user', content: input.text })
      await trx.from('threads').where('id', thread.id).update({ updated_at: new Date() })
    }
    return created
  })

  const events = new RunEventLog(input.tenantId, run.id)
  void events.emit('run', { id: run.id, status: run.status })
  return {
    run,
    messages,
    chain,
    maxTokens,
    temperature: config.temperature,
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
