import db from '@adonisjs/lucid/services/db'
import vine from '@vinejs/vine'
import type { Infer } from '@vinejs/vine/types'
import {
  FREE_ARRAY,
  FREE_OBJECT,
  creditsSchema,
  dateTimeSchema,
  formatCredits,
  problemSchema,
  type Problem,
} from '#core'
import { RUN_STATUSES } from '#agents/models/run'
import { ERROR_TYPES } from '#agents/services/error_types'
import type Run from '#agents/models/run'

const tokens = () => vine.number().withoutDecimals()

/** Token usage: cached and reasoning tokens only where the provider reports them. */
const usageSchema = vine.object({
  input_tokens: tokens(),
  output_tokens: tokens(),
  cached_tokens: tokens().optional(),
  reasoning_tokens: tokens().optional(),
  estimated: vine
    .boolean({ strict: true })
    .meta({ description: 'Counted as ceil(characters / 4): the provider reported none' }),
})

/** The price in force when the run started, credits per 1M tokens. */
const priceSchema = vine.object({
  model: vine.string(),
  input_credits_per_1m: creditsSchema(),
  output_credits_per_1m: creditsSchema(),
  effective_from: vine.string().nullable(),
})

/**
 * One step of a run: a model call (the first, a retry or a fallback), a tool call, a handoff or
 * a workflow step. Only model calls cost money: the run's cost is the sum of its steps'.
 */
const stepSchema = vine.object({
  position: vine.number().withoutDecimals(),
  parent: vine
    .number()
    .withoutDecimals()
    .nullable()
    .meta({ description: 'Position of the workflow step or handoff this step belongs to' }),
  kind: vine.string().meta({
    description: 'model_call, retry, fallback, tool_call, handoff or workflow_step',
  }),
  name: vine
    .string()
    .nullable()
    .meta({ description: 'The model, the tool, or the agent handed to / run by the step' }),
  model: vine.string().nullable(),
  status: vine.string().meta({ description: 'running, succeeded, failed, cancelled or skipped' }),
  input: vine
    .string()
    .nullable()
    .meta({ description: 'Tool arguments, handoff message, step input' }),
  output: vine.string().nullable(),
  input_tokens: tokens(),
  output_tokens: tokens(),
  usage: usageSchema,
  cost_credits: creditsSchema(),
  total_cost_credits: creditsSchema()
    .optional()
    .meta({ description: 'Workflow steps and handoffs: the cost of the steps under them' }),
  duration_ms: vine.number().withoutDecimals().nullable(),
  price: priceSchema.optional(),
  tool_calls: vine.array(vine.any()).optional().meta(FREE_ARRAY),
  error: vine.record(vine.any()).optional().meta(FREE_OBJECT),
  started_at: dateTimeSchema(),
  finished_at: dateTimeSchema().nullable(),
})

/** A run as the API shows it (OpenAPI `Run`); `steps` only where one run is shown. */
export const runSchema = vine.object({
  id: vine.string(),
  agent_id: vine.string().nullable(),
  version: vine.number().withoutDecimals().nullable(),
  workflow_id: vine.string().nullable().optional().meta({ description: 'Set on workflow runs' }),
  workflow_version: vine.number().withoutDecimals().nullable().optional(),
  thread_id: vine.string().nullable(),
  status: vine.enum(RUN_STATUSES),
  input: vine.string(),
  output: vine.string(),
  usage: usageSchema,
  cost_credits: creditsSchema(),
  latency_ms: vine.number().withoutDecimals().nullable(),
  ttft_ms: vine.number().withoutDecimals().nullable(),
  model: vine.string().nullable(),
  price: priceSchema.optional(),
  steps: vine.array(stepSchema).optional(),
  citations: vine
    .array(
      vine.object({
        document_id: vine.string(),
        chunk_id: vine.string(),
        document_name: vine.string(),
      })
    )
    .optional()
    .meta({ description: 'The knowledge passages the run retrieved (knowledge_search)' }),
  error: problemSchema.optional(),
  error_type: vine
    .string()
    .optional()
    .meta({
      description:
        `Failed runs: why, as a stable slug (${ERROR_TYPES.join(', ')}); ` +
        'the runs list filters on it (`error`)',
    }),
  metadata: vine.record(vine.any()).meta(FREE_OBJECT),
  created_at: dateTimeSchema(),
  finished_at: dateTimeSchema().nullable(),
})

/** The answer to a cancellation (OpenAPI `RunCancellation`). */
export const runCancellationSchema = vine.object({
  id: vine.string(),
  status: vine.enum([...RUN_STATUSES, 'cancelling'] as const),
})
export type RunCancellationDto = Infer<typeof runCancellationSchema>

type StepRow = {
  position: number
  parent?: number | null
  kind: string
  name?: string | null
  model: string | null
  status: string
  input?: string | null
  output?: string | null
  duration_ms?: number | null
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
): Promise<RunDto> {
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
    parent: s.parent ?? null,
    kind: s.kind,
    name: s.name ?? s.model,
    model: s.model,
    status: s.status,
    input: s.input ?? null,
    output: s.output ?? null,
    input_tokens: s.input_tokens,
    output_tokens: s.output_tokens,
    usage: usageOf(s.input_tokens, s.output_tokens, Boolean(s.usage_estimated)),
    cost_credits: formatCredits(s.cost_micros),
    ...(s.kind === 'workflow_step' || s.kind === 'handoff'
      ? { total_cost_credits: formatCredits(subtreeCost(rows!, s.position)) }
      : {}),
    duration_ms:
      s.duration_ms ??
      (s.finished_at ? new Date(s.finished_at).getTime() - new Date(s.started_at).getTime() : null),
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
    ...(run.workflowId
      ? { workflow_id: run.workflowId, workflow_version: run.workflowVersion ?? null }
      : {}),
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
    // `?? null`: a run just inserted (the 202 of an async run) was never read back.
    latency_ms: run.latencyMs ?? null,
    ttft_ms: run.ttftMs ?? null,
    model: run.model ?? null,
    ...(run.price ? { price: priceOf(run.price) } : {}),
    ...(steps ? { steps } : {}),
    ...(run.citations?.length ? { citations: run.citations } : {}),
    ...(run.error ? { error: run.error as Problem } : {}),
    ...(run.status === 'failed' && run.errorType ? { error_type: run.errorType } : {}),
    metadata: run.metadata,
    created_at: run.createdAt.toISO()!,
    finished_at: run.finishedAt?.toISO() ?? null,
  }
}

export type RunDto = Infer<typeof runSchema>

/** The cost of a step and every step nested under it (steps come in order, children after parents). */
function subtreeCost(rows: StepRow[], position: number) {
  const inside = new Set([position])
  let total = 0n
  for (const row of rows) {
    if (row.position !== position && !inside.has(row.parent ?? -1)) continue
    inside.add(row.position)
    total += BigInt(row.cost_micros)
  }
  return total
}

/** A stored price (micro-credits per 1M tokens) in credits per 1M tokens, as the API shows money. */
function priceOf(price: Record<string, any>) {
  return {
    model: price.model,
    input_credits_per_1m: formatCredits(price.input_price_micros ?? 0),
    output_credits_per_1m: formatCredits(price.output_price_micros ?? 0),
    effective_from: price.effective_from ?? null,
  }
}
