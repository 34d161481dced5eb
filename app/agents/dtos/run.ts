import db from '@adonisjs/lucid/services/db'
import { formatCredits } from '#core'
import type Run from '#agents/models/run'

type StepRow = {
  position: number
  kind: string
  model: string | null
  status: string
  input_tokens: number
  output_tokens: number
  usage_estimated?: boolean
  cost_micros: string | bigint
  price?: Record<string, unknown> | null
  tool_calls?: unknown[] | null
  error?: Record<string, unknown> | null
  started_at: Date | string
  finished_at: Date | string | null
}

/** Token usage as the API shows it: cached and reasoning tokens only where reported. */
function usageOf(input: number, output: number, estimated: boolean, cached = 0, reasoning = 0) {
  return {
    input_tokens: input,
    output_tokens: output,
    ...(cached ? { cached_tokens: cached } : {}),
    ...(reasoning ? { reasoning_tokens: reasoning } : {}),
    estimated,
  }
}

/**
 * The run as the API shows it (CONTRACT.md). `stepRows` passes steps just written instead of
 * reading them back.
 */
export async function serializeRun(
  run: Run,
  options: { steps?: boolean; stepRows?: StepRow[] } = {}
) {
  const rows: StepRow[] | undefined =
    options.steps === false
      ? undefined
      : (options.stepRows ??
        (await db
          .from('run_steps')
          .where('tenant_id', run.tenantId)
          .where('run_id', run.id)
          .orderBy('position')
          .select(
            'position',
            'kind',
            'model',
            'status',
            'input_tokens',
            'output_tokens',
            'usage_estimated',
            'cost_micros',
            'price',
            'tool_calls',
            'error',
            'started_at',
            'finished_at'
          )))
  const steps = rows?.map((s) => ({
    position: s.position,
    kind: s.kind,
    model: s.model,
    status: s.status,
    usage: usageOf(s.input_tokens, s.output_tokens, Boolean(s.usage_estimated)),
    cost_credits: formatCredits(s.cost_micros),
    ...(s.price ? { price: priceOf(s.price) } : {}),
    ...(s.tool_calls?.length ? { tool_calls: s.tool_calls } : {}),
    error: s.error ?? undefined,
    started_at: new Date(s.started_at).toISOString(),
    finished_at: s.finished_at ? new Date(s.finished_at).toISOString() : null,
  }))
  return {
    id: run.id,
    agent_id: run.agentId,
    version: run.version,
    thread_id: run.threadId,
    status: run.status,
    input: run.input,
    output: run.output,
    usage: usageOf(
      run.inputTokens,
      run.outputTokens,
      Boolean(run.usageEstimated),
      run.cachedTokens,
      run.reasoningTokens
    ),
    cost_credits: formatCredits(run.costMicros),
    latency_ms: run.latencyMs,
    ttft_ms: run.ttftMs,
    model: run.model,
    ...(run.price ? { price: priceOf(run.price) } : {}),
    ...(steps ? { steps } : {}),
    ...(run.error ? { error: run.error } : {}),
    metadata: run.metadata,
    created_at: run.createdAt.toISO(),
    finished_at: run.finishedAt?.toISO() ?? null,
  }
}

export type RunDto = Awaited<ReturnType<typeof serializeRun>>

/** A stored price (micro-credits per 1M tokens) in credits per 1M tokens, as the API shows money. */
function priceOf(price: Record<string, any>) {
  return {
    model: price.model,
    input_credits_per_1m: formatCredits(price.input_price_micros ?? 0),
    output_credits_per_1m: formatCredits(price.output_price_micros ?? 0),
    effective_from: price.effective_from ?? null,
  }
}
