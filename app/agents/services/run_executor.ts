import { setTimeout as sleep } from 'node:timers/promises'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import logger from '@adonisjs/core/services/logger'
import { Exception } from '@adonisjs/core/exceptions'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import {
  formatCredits,
  InvalidInputException,
  isUnsafeText,
  preparedQuery,
  problem,
  safeText,
} from '#core'
import {
  extend,
  settle,
  BudgetExceededException,
  HoldNotPendingException,
  InsufficientCreditsException,
} from '#credits'
import { completeIdempotencyKey, type IdempotencyScope } from '#platform'
import Run from '#agents/models/run'
import { costMicros, priceRecord, type CatalogModel } from '#agents/services/catalog'
import { RunEventLog, type RunEvent } from '#agents/services/run_events'
import { runMetrics } from '#agents/services/run_metrics'
import {
  breaker,
  type Blame,
  type BreakerKey,
  type BreakerSettings,
  type Gate,
} from '#agents/services/circuit_breaker'
import { providerFor } from '#agents/providers/registry'
import { searchChunks } from '#agents/knowledge/search'
import { knowledgeEmbedder } from '#agents/knowledge/embeddings'
import {
  agentRuntimeBySlug,
  KNOWLEDGE_TOOL,
  withInstructions,
  worstCase,
  type AgentRuntime,
} from '#agents/services/agent_runtime'
import { renderTemplate } from '#agents/services/workflow_template'
import { runErrorType } from '#agents/services/error_types'
import type { WorkflowStep } from '#agents/models/workflow_version'
import { runBuiltinTool, type BuiltinToolName } from '#agents/tools/builtin'
import { toolContextOf } from '#agents/services/tool_settings'
import {
  estimateTokens,
  promptCharacters,
  ProviderError,
  type ChatMessage,
  type StreamChunk,
  type ToolCall,
  type Usage,
} from '#agents/providers/types'
import { serializeRun, type RunDto } from '#agents/dtos/run'
import RunFinished from '#agents/events/run_finished'

// Cancellation reaches the owner through the bus at once; the poll is the fallback.
const CANCEL_POLL_MS = 1500

/** Runs in flight in this process, for cancellation without a round-trip. */
const inFlight = new Map<string, AbortController>()

/** Aborts a run executing in this process (other processes hear of it on the bus or notice the DB flag). */
export function abortLocalRun(runId: string) {
  inFlight.get(runId)?.abort(new Error('cancelled'))
}

/** Aborts every run executing here (the shutdown grace period is over). */
export function abortAllLocalRuns(reason: string) {
  for (const controller of inFlight.values()) controller.abort(new Error(reason))
}

/** How many runs execute in this process. */
export function localRunCount() {
  return inFlight.size
}

type StepKind = 'model_call' | 'retry' | 'fallback' | 'tool_call' | 'handoff' | 'workflow_step'

/**
 * One step of a run: a model call (first, retry or fallback), a tool call, a handoff or a
 * workflow step. `parent` is the position of the workflow step or handoff it belongs to. Only
 * model calls cost money, so the steps add up to the charge.
 */
type Step = {
  position: number
  parent: number | null
  kind: StepKind
  name: string | null
  model: CatalogModel | null
  status: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped'
  input: string | null
  output: string | null
  usage: Usage
  usageEstimated: boolean
  costMicros: bigint
  toolCalls: ToolCall[]
  error: Record<string, unknown> | null
  startedAt: Date
  finishedAt: Date
}

/** A workflow run: its input and steps (step 1 runs the plan's runtime on the plan's messages). */
export type WorkflowPlan = { input: string; steps: WorkflowStep[] }

export type ExecutionPlan = {
  run: Run
  /** Settles once the run row is written (see prepareRun's deferRecord). */
  recorded?: Promise<void>
  messages: ChatMessage[]
  /** The agent (or plain model call) the run starts with: model chain, tools, limits. */
  runtime: AgentRuntime
  holdId: string
  /** Grows when a later step needs more than the hold covers (see ensureFunds). */
  holdMicros: bigint
  /** The input tokens the hold reserved (CONTRACT.md's estimate); the rest is for output. */
  estInputTokens: number
  events: RunEventLog
  workflow?: WorkflowPlan
  /** The key whose replayed response commits with the outcome. */
  idempotency?: {
    scope: IdempotencyScope
    response: (run: Run, dto: RunDto) => { status: number; body: unknown }
  }
}

/** What the provider side of a run produced, known before anything is written. */
export type RunOutcome = {
  status: 'succeeded' | 'failed' | 'cancelled'
  output: string
  usage: Usage & { estimated: boolean }
  toolCalls: ToolCall[]
  citations: Citation[]
  failure: { status: number; title: string; detail: string; type?: string } | null
}

function envNumber(name: string, fallback: number) {
  const value = Number(process.env[name])
  return Number.isFinite(value) && process.env[name] !== '' && process.env[name] !== undefined
    ? value
    : fallback
}

export function runTimeoutMs() {
  return envNumber('RUN_TIMEOUT_S', 300) * 1000
}

/**
 * Reliability settings of a model's provider: its row's `settings` over the environment's
 * defaults (PROVIDER_CONNECT_TIMEOUT_MS 10 s, PROVIDER_FIRST_TOKEN_TIMEOUT_MS 30 s,
 * PROVIDER_TOTAL_TIMEOUT_MS = the run timeout, PROVIDER_MAX_RETRIES 2,
 * PROVIDER_BREAKER_FAILURES 5, PROVIDER_BREAKER_COOLDOWN_MS 30 s).
 */
export function reliabilityOf(model: CatalogModel) {
  const settings = model.provider.settings ?? {}
  const totalTimeoutMs =
    settings.total_timeout_ms ?? envNumber('PROVIDER_TOTAL_TIMEOUT_MS', runTimeoutMs())
  return {
    connectTimeoutMs:
      settings.connect_timeout_ms ?? envNumber('PROVIDER_CONNECT_TIMEOUT_MS', 10_000),
    firstTokenTimeoutMs:
      settings.first_token_timeout_ms ?? envNumber('PROVIDER_FIRST_TOKEN_TIMEOUT_MS', 30_000),
    totalTimeoutMs,
    maxRetries: settings.max_retries ?? envNumber('PROVIDER_MAX_RETRIES', 2),
    maxRetryWaitMs: settings.max_retry_wait_ms ?? 30_000,
    breaker: {
      failureThreshold:
        settings.breaker?.failure_threshold ?? envNumber('PROVIDER_BREAKER_FAILURES', 5),
      cooldownMs:
        settings.breaker?.cooldown_ms ?? envNumber('PROVIDER_BREAKER_COOLDOWN_MS', 30_000),
      probeLeaseMs: Math.min(totalTimeoutMs, runTimeoutMs()),
    } satisfies BreakerSettings,
  }
}

/**
 * Wait before retry `attempt` (0-based): Retry-After when the provider sent one (plus up to
 * 10 % jitter so waiting clients do not return together), else exponential backoff from 200 ms,
 * capped at 4 s, with "equal jitter" (half fixed, half random).
 */
export function retryDelayMs(attempt: number, retryAfterMs?: number, random = Math.random) {
  if (retryAfterMs !== undefined) return Math.round(retryAfterMs * (1 + 0.1 * random()))
  const exponential = Math.min(4000, 200 * 2 ** attempt)
  return Math.round(exponential / 2 + (exponential / 2) * random())
}

/**
 * Whom a failure is evidence against, for the circuit breaker; null when it says nothing about
 * the provider's health (refused requests such as 400/401/413 are not retried, aborts).
 * 'tenant': failures the caller can cause by itself — our timeouts (a long prompt or a large
 * max_tokens makes a slow answer) and 408/409/425/429 (that request, or that caller's rate
 * against a shared key): on a platform provider they must not switch it off for every tenant.
 * 'provider': 5xx, refused/reset connections, DNS errors, connect timeouts, a stream cut short.
 */
export function blameOf(error: ProviderError, timedOut: boolean): Blame | null {
  if (!error.retryable || error.status === 499) return null
  if (timedOut || [408, 409, 425, 429].includes(error.status)) return 'tenant'
  return 'provider'
}

/**
 * Executes a run that already holds its credits: calls the model chain (retries with backoff
 * and jitter on retryable errors, honouring Retry-After; a circuit breaker per provider; then
 * the fallback models), streams deltas into the run's event log, stops on cancellation, on the
 * run deadline or when the hold would be exceeded, then settles once and records the run.
 * Every attempt is a step with its own status, tokens and cost; all of them fit in the hold.
 * `onOutcome` is called as soon as the provider side is done, before bookkeeping.
 * Never throws: every path ends in a terminal state with its events written.
 */
export function executeRun(
  plan: ExecutionPlan,
  options: { onOutcome?: (outcome: RunOutcome) => void } = {}
): Promise<Run> {
  const execution = execute(plan, options)
  executing.set(execution, plan.run.id)
  execution.finally(() => executing.delete(execution)).catch(() => {})
  return execution
}

/** The API shape of runs recorded by this process (saves reading the steps back). */
const outcomes = new WeakMap<Run, RunDto>()
/** Runs whose outcome could not be written (the database was unreachable). */
const unrecorded = new WeakSet<Run>()

/**
 * 503 (+ Retry-After, from the exception handler): the run ended but its outcome could not be
 * written; not charged.
 */
export class RunNotRecordedException extends Exception {
  constructor() {
    super(
      'The run finished but its outcome could not be recorded. Try again in a few seconds: ' +
        'a run that is not recorded is not charged.',
      {
        status: 503,
        code: 'E_RUN_NOT_RECORDED',
      }
    )
  }
}

/** The finished run as the API shows it, as recorded (steps included). */
export async function finishedRunDto(run: Run) {
  if (unrecorded.has(run)) throw new RunNotRecordedException()
  return outcomes.get(run) ?? serializeRun(run)
}

/** Ids of the runs this process executes or is still recording (the rest of its runs are orphans). */
export function executingRunIds() {
  return [...executing.values()]
}

/** Whether the run executes in this process. */
export function isLocalRun(runId: string) {
  return inFlight.has(runId)
}

/** Executions in this process and their run ids, so shutdown and tests can wait for their bookkeeping. */
const executing = new Map<Promise<Run>, string>()

/** Resolves once no run executes in this process (settled, recorded, events written). */
export async function runsIdle() {
  while (executing.size) await Promise.allSettled([...executing.keys()])
}

/** The state of one execution, shared by its model calls, tool calls and workflow steps. */
type Execution = {
  plan: ExecutionPlan
  controller: AbortController
  started: number
  runDeadline: number
  steps: Step[]
  ttftMs: number | null
  failure: RunOutcome['failure']
  cancelled: boolean
  /** Function calls the caller runs: the run ends with them (as OpenAI's API does). */
  clientToolCalls: ToolCall[]
  /** Model calls so far: all but the first are funded as they come (ensureFunds). */
  modelCalls: number
  /** Knowledge chunks retrieved for the answer, by chunk id (the run's citations). */
  citations: Map<string, Citation>
}

type Citation = { document_id: string; chunk_id: string; document_name: string }

async function execute(
  plan: ExecutionPlan,
  options: { onOutcome?: (outcome: RunOutcome) => void }
): Promise<Run> {
  const { run } = plan
  const controller = new AbortController()
  inFlight.set(run.id, controller)
  plan.recorded?.catch(() => controller.abort(new Error('the run could not be recorded')))
  const started = performance.now()
  const deadline = setTimeout(() => controller.abort(new Error('timeout')), runTimeoutMs())
  const cancelPoll = setInterval(async () => {
    const row = await db
      .from('runs')
      .where('id', run.id)
      .select('cancel_requested_at')
      .first()
      .catch(() => null)
    if (row?.cancel_requested_at) controller.abort(new Error('cancelled'))
  }, CANCEL_POLL_MS)
  cancelPoll.unref()

  const x: Execution = {
    plan,
    controller,
    started,
    runDeadline: Date.now() + runTimeoutMs(),
    steps: [],
    ttftMs: null,
    failure: null,
    cancelled: false,
    clientToolCalls: [],
    modelCalls: 0,
    citations: new Map(),
  }
  let output = ''
  try {
    output = plan.workflow
      ? await runWorkflow(x, plan.workflow)
      : (await agentLoop(x, plan.runtime, plan.messages, { parent: null, stream: true })).text
  } catch (error) {
    // A fault of ours (or of the database while loading a handoff): the run ends, never hangs.
    logger.error({ err: error, run_id: run.id }, 'run execution failed')
    if (!x.failure && !x.cancelled)
      x.failure = { status: 500, title: 'Run failed', detail: 'The run failed unexpectedly.' }
  } finally {
    clearTimeout(deadline)
    clearInterval(cancelPoll)
    inFlight.delete(run.id)
  }

  const { steps, failure, cancelled } = x
  // The charge is the sum of the steps' costs, capped by the hold (the cap is taken off the
  // last charged step, so steps always add up to the run).
  let spent = spentSoFar(x)
  const overHold = spent > plan.holdMicros
  if (overHold) {
    let excess = spent - plan.holdMicros
    for (const step of [...steps].reverse()) {
      const cut = step.costMicros < excess ? step.costMicros : excess
      step.costMicros -= cut
      excess -= cut
      if (excess === 0n) break
    }
    spent = plan.holdMicros
  }
  const status = cancelled ? 'cancelled' : failure ? 'failed' : 'succeeded'
  const usage = steps.reduce(
    (sum, s) => ({
      inputTokens: sum.inputTokens + s.usage.inputTokens,
      outputTokens: sum.outputTokens + s.usage.outputTokens,
      cachedTokens: (sum.cachedTokens ?? 0) + (s.usage.cachedTokens ?? 0),
      reasoningTokens: (sum.reasoningTokens ?? 0) + (s.usage.reasoningTokens ?? 0),
      estimated:
        sum.estimated || (s.usageEstimated && s.usage.inputTokens + s.usage.outputTokens > 0),
    }),
    { inputTokens: 0, outputTokens: 0, cachedTokens: 0, reasoningTokens: 0, estimated: false }
  )
  const last = steps.findLast((s) => s.model && s.status !== 'skipped')
  const outcome: RunOutcome = {
    status,
    output,
    usage,
    toolCalls: x.clientToolCalls,
    citations: [...x.citations.values()],
    failure,
  }
  try {
    options.onOutcome?.(outcome)
  } catch (error) {
    logger.error({ err: error, run_id: run.id }, 'run outcome listener failed')
  }
  const latencyMs = Math.round(performance.now() - started)
  return finishRun(plan, {
    ...outcome,
    spent,
    overHold,
    priced: last?.model ?? plan.runtime.chain[0],
    ttftMs: x.ttftMs,
    latencyMs,
    steps,
  })
}

function spentSoFar(x: Execution) {
  return x.steps.reduce((sum, s) => sum + s.costMicros, 0n)
}

/** Records why the run stopped when its signal fired: cancelled, timed out or shut down. */
function stopped(x: Execution) {
  x.cancelled = reasonOf(x.controller.signal) === 'cancelled'
  if (!x.cancelled) x.failure = abortFailure(x.controller.signal)
}

/**
 * One agent's part of a run: model calls until the model answers without calling a tool. Calls
 * of built-in tools run here and their results go back to the model (an error included, so it
 * can correct itself); a handoff switches to the other agent, whose steps nest under it; a call
 * of any other function ends the run with it. At most the agent's max_steps model calls.
 */
async function agentLoop(
  x: Execution,
  runtime: AgentRuntime,
  messages: ChatMessage[],
  options: { parent: number | null; stream: boolean }
): Promise<{ text: string; ok: boolean }> {
  let text = ''
  let parent = options.parent
  // The first agent's limit bounds the whole loop, handoffs included (A → B → A … ends).
  const limit = runtime.maxSteps
  for (let turn = 0; ; turn++) {
    // Cancelled, timed out or shut down between calls (a tool, a handoff, a workflow step).
    if (x.controller.signal.aborted) {
      stopped(x)
      return { text, ok: false }
    }
    if (turn >= limit) {
      x.failure = {
        status: 422,
        title: 'Too many steps',
        detail: `The agent made ${limit} model calls without finishing (its max_steps); the run stopped.`,
      }
      return { text, ok: false }
    }
    let estInput = x.plan.estInputTokens
    if (x.modelCalls > 0) {
      const funded = await ensureFunds(x, runtime, messages)
      if (funded === null) return { text, ok: false }
      estInput = funded
    }
    x.modelCalls++
    const answer = await modelTurn(x, runtime, messages, estInput, parent, options.stream)
    text += answer.text
    if (!answer.ok) return { text, ok: false }
    const calls = answer.toolCalls
    if (!calls.length) return { text, ok: true }
    const ours = (name: string) =>
      runtime.builtins.includes(name as any) ||
      Boolean(runtime.handoffs[name]) ||
      (name === KNOWLEDGE_TOOL && runtime.knowledge !== null)
    if (!calls.every((c) => ours(c.name))) {
      x.clientToolCalls = calls
      return { text, ok: true }
    }
    messages = [...messages, { role: 'assistant', content: answer.text, toolCalls: calls }]
    let handoff: { runtime: AgentRuntime; message: string | null; position: number } | null = null
    for (const call of calls) {
      const slug = runtime.handoffs[call.name]
      if (!slug) {
        const result =
          call.name === KNOWLEDGE_TOOL
            ? await searchKnowledge(x, runtime, call, parent)
            : await runToolCall(x, call, parent)
        messages.push(toolMessage(call, result))
        if (x.controller.signal.aborted) {
          stopped(x)
          return { text, ok: false }
        }
        continue
      }
      const startedAt = new Date()
      const message = handoffMessage(call.arguments)
      const found: Awaited<ReturnType<typeof runtimeOf>> = handoff ? null : await runtimeOf(x, slug)
      const target: AgentRuntime | null = found && 'runtime' in found ? found.runtime : null
      const error = handoff
        ? 'Only one handoff per turn.'
        : target
          ? null
          : found && 'error' in found
            ? found.error
            : `No agent "${slug}" in this workspace any more.`
      const step = pushStep(x, {
        kind: 'handoff',
        name: slug,
        parent,
        status: error ? 'failed' : 'succeeded',
        input: message,
        output: null,
        startedAt,
        error: error ? { message: error } : null,
      })
      messages.push(toolMessage(call, error ? { error } : { handed_off_to: slug }))
      if (target) handoff = { runtime: target, message, position: step.position }
    }
    if (handoff) {
      runtime = handoff.runtime
      parent = handoff.position
      // The other agent sees the conversation (not this agent's tool traffic) and the request.
      const conversation = messages.filter(
        (m) => m.role === 'user' || (m.role === 'assistant' && !m.toolCalls?.length)
      )
      messages = withInstructions(runtime, [
        ...conversation,
        ...(handoff.message ? [{ role: 'user' as const, content: handoff.message }] : []),
      ])
    }
  }
}

/**
 * Another agent of the run's workspace (a handoff, a workflow step): null when it is gone, an
 * error when it can no longer run (its model left the catalog).
 */
async function runtimeOf(
  x: Execution,
  slug: string
): Promise<{ runtime: AgentRuntime } | { error: string } | null> {
  try {
    const runtime = await agentRuntimeBySlug(x.plan.run.tenantId, slug, x.plan.run.metadata)
    return runtime ? { runtime } : null
  } catch (error) {
    if (error instanceof InvalidInputException) return { error: error.message }
    throw error
  }
}

/** The `message` argument of a handoff call, when the model gave one. */
function handoffMessage(args: string): string | null {
  try {
    const parsed = JSON.parse(args)
    return typeof parsed?.message === 'string' && parsed.message.trim() ? parsed.message : null
  } catch {
    return null
  }
}

function toolMessage(call: ToolCall, content: unknown): ChatMessage {
  return {
    role: 'tool',
    toolCallId: call.id,
    name: call.name,
    content: typeof content === 'string' ? content : JSON.stringify(content),
  }
}

/** Runs one built-in tool call as a step; returns what the model gets back (JSON text). */
async function runToolCall(x: Execution, call: ToolCall, parent: number | null) {
  const startedAt = new Date()
  const context = await toolContextOf(x.plan.run.tenantId, x.controller.signal, call.name)
  const result = await runBuiltinTool(call.name as BuiltinToolName, call.arguments, context)
  const content = JSON.stringify(result.ok ? result.output : { error: result.error })
  const aborted = x.controller.signal.aborted
  pushStep(x, {
    kind: 'tool_call',
    name: call.name,
    parent,
    status: result.ok ? 'succeeded' : aborted ? 'cancelled' : 'failed',
    input: call.arguments,
    output: content,
    startedAt,
    error: result.ok ? null : { message: result.error },
  })
  return content
}

/**
 * A `knowledge_search` call as a step: the agent's documents searched (hybrid where vectors
 * exist), the passages given back to the model (their text counts toward the next call's hold)
 * and kept as the run's citations.
 */
async function searchKnowledge(
  x: Execution,
  runtime: AgentRuntime,
  call: ToolCall,
  parent: number | null
) {
  const startedAt = new Date()
  let args: { query?: unknown; limit?: unknown } = {}
  try {
    args = JSON.parse(call.arguments || '{}')
  } catch {}
  const query = typeof args?.query === 'string' ? args.query.trim().slice(0, 1000) : ''
  const limit = Number.isInteger(args?.limit) ? Math.min(20, Math.max(1, args.limit as number)) : 5
  let content: string
  let error: string | null = null
  let cost = 0n
  if (!query) {
    error = 'Arguments must be JSON with a non-empty "query" string.'
    content = JSON.stringify({ error })
  } else {
    try {
      // Embedding the query may cost credits: the hold covers it first, else words only.
      let { embedder } = await knowledgeEmbedder(x.plan.run.tenantId)
      if (embedder && (await coverNext(x, embedder.worstCost([query]))) !== true) embedder = null
      const found = await searchChunks(x.plan.run.tenantId, query, {
        limit,
        documentIds: runtime.knowledge!.documents,
        embedder,
        signal: x.controller.signal,
      })
      cost = found.cost
      for (const hit of found.data)
        x.citations.set(hit.chunk_id, {
          document_id: hit.document_id,
          chunk_id: hit.chunk_id,
          document_name: hit.document_name,
        })
      content = JSON.stringify({ results: found.data })
    } catch (failure) {
      logger.error({ err: failure, run_id: x.plan.run.id }, 'knowledge search failed')
      error = 'The search failed; try again in a moment.'
      content = JSON.stringify({ error })
    }
  }
  pushStep(x, {
    kind: 'tool_call',
    name: KNOWLEDGE_TOOL,
    parent,
    status: error ? 'failed' : 'succeeded',
    input: call.arguments,
    output: clip(content),
    costMicros: cost,
    startedAt,
    error: error ? { message: error } : null,
  })
  return content
}

/**
 * Funds the next model call: when what is spent plus its worst case exceeds the hold, the hold
 * is extended first. Null (the run stops) when the credits do not cover it (`credits_exhausted`)
 * or the conversation outgrew the context window. Returns the call's input estimate.
 */
async function ensureFunds(x: Execution, runtime: AgentRuntime, messages: ChatMessage[]) {
  let worst: ReturnType<typeof worstCase>
  try {
    worst = worstCase(runtime, messages)
  } catch (error) {
    if (!(error instanceof InvalidInputException)) throw error
    x.failure = { status: 422, title: 'Context window exceeded', detail: error.message }
    return null
  }
  const covered = await coverNext(x, worst.micros)
  if (covered instanceof BudgetExceededException) {
    x.failure = { status: 403, title: 'Budget exceeded', detail: covered.message }
    return null
  }
  if (covered !== true) {
    x.failure = {
      status: 402,
      title: 'Credits exhausted',
      type: '/problems/credits_exhausted',
      detail:
        `The next step needs ${formatCredits(covered)} more credits than this workspace ` +
        'has available; the run stopped.',
    }
    return null
  }
  return worst.estInputTokens
}

/**
 * Extends the hold, when needed, so it covers what is spent plus `next` micro-credits. True when
 * covered; otherwise the micro-credits that were missing (available credits did not cover them),
 * or the budget refusal.
 */
async function coverNext(
  x: Execution,
  next: bigint
): Promise<true | bigint | BudgetExceededException> {
  const missing = spentSoFar(x) + next - x.plan.holdMicros
  if (missing <= 0n) return true
  try {
    await extend(x.plan.holdId, missing, { tenantId: x.plan.run.tenantId })
  } catch (error) {
    if (error instanceof BudgetExceededException) return error
    if (!(error instanceof InsufficientCreditsException)) throw error
    return missing
  }
  x.plan.holdMicros += missing
  return true
}

/**
 * A workflow: each step runs its agent on its rendered template, in order; only the last step
 * streams (its output is the run's). The first step is funded by the run's hold, later ones
 * extend it as they go; a failed or cancelled step ends the run.
 */
async function runWorkflow(x: Execution, workflow: WorkflowPlan) {
  const outputs: string[] = []
  for (const [index, definition] of workflow.steps.entries()) {
    if (x.controller.signal.aborted) {
      stopped(x)
      break
    }
    const step = pushStep(x, {
      kind: 'workflow_step',
      name: definition.agent,
      parent: null,
      status: 'running',
      input: null,
      output: null,
      startedAt: new Date(),
    })
    let runtime: AgentRuntime | null = x.plan.runtime
    let messages = x.plan.messages
    if (index > 0) {
      const found = await runtimeOf(x, definition.agent)
      runtime = found && 'runtime' in found ? found.runtime : null
      if (!runtime) {
        x.failure = {
          status: 422,
          title: 'Workflow step failed',
          detail:
            `Step ${index + 1}: ` +
            (found && 'error' in found
              ? found.error
              : `no agent "${definition.agent}" in this workspace any more.`),
        }
        finishStep(x, step, 'failed')
        break
      }
      const input = renderTemplate(definition.input, workflow.input, outputs)
      messages = withInstructions(runtime, [{ role: 'user', content: input }])
    }
    step.input = messages.at(-1)!.content
    const last = index === workflow.steps.length - 1
    let result = { text: '', ok: false }
    try {
      result = await agentLoop(x, runtime, messages, { parent: step.position, stream: last })
    } finally {
      // A step never stays `running` in a finished run, even when the loop threw.
      step.output = result.text
      if (result.ok && !last && x.clientToolCalls.length) {
        // Only the caller could run that function, and the caller sees the last step only.
        x.failure = {
          status: 422,
          title: 'Workflow step failed',
          detail:
            `Step ${index + 1} (${definition.agent}) called the function ` +
            `"${x.clientToolCalls[0].name}", which only the caller can run.`,
        }
        x.clientToolCalls = []
        result.ok = false
      }
      finishStep(x, step, result.ok ? 'succeeded' : x.cancelled ? 'cancelled' : 'failed')
    }
    outputs.push(result.text)
    if (!result.ok) break
  }
  return outputs.at(-1) ?? ''
}

/** Adds a step; tool calls, handoffs and workflow steps are announced on the run's stream. */
function pushStep(
  x: Execution,
  fields: Pick<Step, 'kind' | 'name' | 'parent' | 'status' | 'input' | 'output' | 'startedAt'> &
    Partial<Step>
): Step {
  const step: Step = {
    position: x.steps.length,
    model: null,
    usage: { inputTokens: 0, outputTokens: 0 },
    usageEstimated: false,
    costMicros: 0n,
    toolCalls: [],
    error: null,
    finishedAt: new Date(),
    ...fields,
  }
  x.steps.push(step)
  if (step.kind !== 'workflow_step' && !step.model) announce(x, step)
  return step
}

function finishStep(x: Execution, step: Step, status: Step['status']) {
  step.status = status
  step.finishedAt = new Date()
  announce(x, step)
}

function announce(x: Execution, step: Step) {
  void x.plan.events.emit('step', {
    position: step.position,
    parent: step.parent,
    kind: step.kind,
    name: step.name,
    status: step.status,
  })
}

/**
 * One model call of the run: the runtime's model chain (retries with backoff and jitter on
 * retryable errors, honouring Retry-After; a circuit breaker per provider; then the fallback
 * models). Streams deltas into the run's event log when `stream`; stops on cancellation, on
 * the run deadline or when the hold would be exceeded. Every attempt is a step.
 */
async function modelTurn(
  x: Execution,
  runtime: AgentRuntime,
  messages: ChatMessage[],
  estInput: number,
  parent: number | null,
  stream: boolean
): Promise<{ text: string; toolCalls: ToolCall[]; ok: boolean }> {
  const { plan, controller, steps } = x
  const { run, events } = plan
  let text = ''
  let toolCalls: ToolCall[] = []
  let failure: RunOutcome['failure'] = null
  const promptChars = promptCharacters(messages)
  const bound = { maxTokens: runtime.maxTokens, estInput, promptChars }
  const modelStep = (
    kind: StepKind,
    model: CatalogModel,
    status: Step['status'],
    startedAt: Date,
    details: {
      usage?: Usage
      usageEstimated?: boolean
      toolCalls?: ToolCall[]
      output?: string
      error?: Record<string, unknown> | null
    } = {}
  ) => {
    const usage = details.usage ?? { inputTokens: 0, outputTokens: 0 }
    steps.push({
      position: steps.length,
      parent,
      kind,
      name: model.name,
      model,
      status,
      input: null,
      output: details.output ?? null,
      usage,
      usageEstimated: details.usageEstimated ?? false,
      costMicros: costMicros(usage.inputTokens, usage.outputTokens, model),
      toolCalls: details.toolCalls ?? [],
      error: details.error ?? null,
      startedAt,
      finishedAt: new Date(),
    })
  }

  outer: for (const [modelIndex, model] of runtime.chain.entries()) {
    const reliability = reliabilityOf(model)
    // Simulated faults are injected per run, not a property of the provider: no breaker.
    const guarded = model.providerKind !== 'simulator'
    // A platform provider is shared: this tenant's own failures must not open it for others.
    const breakerKey: BreakerKey =
      model.provider.tenantId === null
        ? { providerId: model.providerId, tenantId: run.tenantId }
        : model.providerId
    for (let attempt = 0; attempt <= reliability.maxRetries; attempt++) {
      const stepStarted = new Date()
      const stepKind: StepKind = attempt > 0 ? 'retry' : modelIndex > 0 ? 'fallback' : 'model_call'
      const gate: Gate = guarded
        ? await breaker.acquire(breakerKey, reliability.breaker)
        : { allowed: true, state: 'closed', failures: 0 }
      if (!gate.allowed) {
        const state = gate.state === 'open' ? 'open' : 'half-open (a probe is in flight)'
        const scope =
          gate.blocked === 'tenant'
            ? ' for this workspace (its recent requests timed out or were rate limited)'
            : ''
        const detail = `The circuit breaker of provider "${model.providerSlug}" is ${state}${scope}; not calling it.`
        modelStep(stepKind, model, 'skipped', stepStarted, {
          error: { status: 503, message: detail, breaker: gate.state },
        })
        failure = { status: 503, title: 'Provider unavailable', detail }
        break
      }

      let streamed = false
      let attemptOutput = ''
      let reported: Usage | null = null
      let stoppedByBound = false
      const calls = new Map<number, ToolCall>()
      const attemptController = new AbortController()
      const onAbort = () => attemptController.abort(controller.signal.reason)
      controller.signal.addEventListener('abort', onAbort)
      // Cancelled while the call was being prepared (breaker, funding): never start it.
      if (controller.signal.aborted) attemptController.abort(controller.signal.reason)
      const firstToken = setTimeout(
        () => attemptController.abort(new Error('first-token timeout')),
        reliability.firstTokenTimeoutMs
      )
      const attemptTotal = setTimeout(
        () => attemptController.abort(new Error('attempt timeout')),
        reliability.totalTimeoutMs
      )
      const estimated = (): Usage => ({
        inputTokens: streamed || calls.size ? estimateTokens(promptChars) : 0,
        outputTokens: estimateTokens(attemptOutput.length + toolChars(calls)),
      })
      try {
        const provider = providerFor(model)
        for await (const received of provider.stream({
          model: model.upstreamModel,
          messages,
          maxTokens: runtime.maxTokens,
          temperature: runtime.temperature,
          tools: runtime.tools,
          signal: attemptController.signal,
          connectTimeoutMs: reliability.connectTimeoutMs,
          simulate: runtime.simulate,
        })) {
          // What a provider sends is stored: no NUL byte or lone surrogate reaches PostgreSQL.
          const chunk = storableChunk(received)
          if (chunk.type === 'usage') {
            reported = chunk
            continue
          }
          clearTimeout(firstToken)
          if (chunk.type === 'tool_call') {
            const call = calls.get(chunk.index) ?? { id: '', name: '', arguments: '' }
            call.id ||= chunk.id ?? ''
            call.name ||= chunk.name ?? ''
            call.arguments += chunk.arguments ?? ''
            calls.set(chunk.index, call)
            if (
              attemptOutput.length + toolChars(calls) >
              fitChars(plan.holdMicros, bound, model, spentSoFar(x))
            ) {
              stoppedByBound = true
              break
            }
            continue
          }
          if (stream && !streamed && x.ttftMs === null)
            x.ttftMs = Math.round(performance.now() - x.started)
          streamed = true
          attemptOutput += chunk.text
          // Spend never exceeds the hold, and max_tokens bounds what we read: stop reading.
          const fit = fitChars(plan.holdMicros, bound, model, spentSoFar(x))
          if (attemptOutput.length + toolChars(calls) > fit) {
            const allowed = attemptOutput.length - chunk.text.length
            const fits = chunk.text.slice(0, Math.max(0, fit - allowed - toolChars(calls)))
            attemptOutput = attemptOutput.slice(0, allowed) + fits
            if (fits && stream) void events.emit('delta', { text: fits })
            stoppedByBound = true
            break
          }
          if (stream) void events.emit('delta', { text: chunk.text })
        }
        clearTimeout(firstToken)
        clearTimeout(attemptTotal)
        if (attemptController.signal.aborted && !stoppedByBound)
          throw attemptController.signal.reason
        text += attemptOutput
        const usage = reported && !stoppedByBound ? reported : estimated()
        const status = controller.signal.aborted ? 'cancelled' : 'succeeded'
        // A call cut short by the bound is not complete: it is not run.
        toolCalls = stoppedByBound ? [] : [...calls.values()]
        modelStep(stepKind, model, status, stepStarted, {
          usage,
          usageEstimated: !(reported && !stoppedByBound),
          toolCalls: [...calls.values()],
          output: clip(attemptOutput),
        })
        if (guarded) await breaker.success(breakerKey, gate)
        if (controller.signal.aborted) stopped(x)
        failure = null
        break outer
      } catch (error) {
        clearTimeout(firstToken)
        clearTimeout(attemptTotal)
        const providerError = asProviderError(error, attemptController.signal, reliability)
        const timedOut = ['first-token timeout', 'attempt timeout'].includes(
          reasonOf(attemptController.signal) ?? ''
        )
        const stepError = {
          status: providerError.status,
          message: providerError.message,
          ...(providerError.retryAfterMs !== undefined
            ? { retry_after_ms: providerError.retryAfterMs }
            : {}),
        }
        if (controller.signal.aborted) {
          text += attemptOutput
          stopped(x)
          modelStep(stepKind, model, x.cancelled ? 'cancelled' : 'failed', stepStarted, {
            usage: estimated(),
            usageEstimated: true,
            toolCalls: [...calls.values()],
            output: clip(attemptOutput),
            error: stepError,
          })
          return { text, toolCalls: [], ok: false }
        }
        modelStep(stepKind, model, 'failed', stepStarted, {
          usage: estimated(),
          usageEstimated: true,
          toolCalls: [...calls.values()],
          output: clip(attemptOutput),
          error: stepError,
        })
        const blame = blameOf(providerError, timedOut)
        if (guarded && blame)
          await breaker.failure(breakerKey, reliability.breaker, blame, gate.state === 'half_open')
        failure = {
          status: providerError.status === 504 ? 504 : 502,
          title: providerError.status === 504 ? 'Provider timed out' : 'Provider error',
          detail: providerError.message,
        }
        // Text already streamed to the client cannot be taken back: no transparent retry.
        if (streamed) {
          text += attemptOutput
          break outer
        }
        if (!providerError.retryable || attempt === reliability.maxRetries) break
        const wait = retryDelayMs(attempt, providerError.retryAfterMs)
        // A long Retry-After is better spent on the next model; past the deadline, stop.
        if (wait > reliability.maxRetryWaitMs) break
        if (Date.now() + wait >= x.runDeadline) break outer
        await sleep(wait, undefined, { signal: controller.signal }).catch(() => {})
        if (controller.signal.aborted) {
          stopped(x)
          return { text, toolCalls: [], ok: false }
        }
      } finally {
        controller.signal.removeEventListener('abort', onAbort)
      }
    }
  }
  if (failure) x.failure = failure
  return { text, toolCalls, ok: !failure && !x.cancelled && !x.failure }
}

/** Step inputs and outputs are kept for the step tree, not as the record of the answer. */
const STEP_TEXT_CHARS = 8000

function clip(text: string) {
  return text.length > STEP_TEXT_CHARS ? text.slice(0, STEP_TEXT_CHARS) + '…' : text
}

/**
 * The most output characters a model call may still produce (estimate: 4 characters a token):
 * what the hold leaves after the steps so far and this call's input, and never far past
 * max_tokens.
 */
function fitChars(
  holdMicros: bigint,
  bound: { maxTokens: number; estInput: number; promptChars: number },
  model: CatalogModel,
  spentBefore: bigint
) {
  // A provider may overshoot max_tokens a little (our estimate is rough); never by 2×.
  const byTokens = bound.maxTokens * 8
  if (model.outputPrice === 0n) return byTokens
  // In micro-credits × 1M, the unit prices are in, so rounding never cuts a token short.
  const left =
    (holdMicros - spentBefore) * 1_000_000n -
    BigInt(Math.max(bound.estInput, estimateTokens(bound.promptChars))) * model.inputPrice
  if (left <= 0n) return 0
  return Math.min(byTokens, Number(left / model.outputPrice) * 4)
}

function storableChunk(chunk: StreamChunk): StreamChunk {
  if (chunk.type === 'delta')
    return isUnsafeText(chunk.text) ? { ...chunk, text: safeText(chunk.text) } : chunk
  if (
    chunk.type !== 'tool_call' ||
    ![chunk.id, chunk.name, chunk.arguments].some(
      (part) => part !== undefined && isUnsafeText(part)
    )
  )
    return chunk
  const clean = (part?: string) => (part === undefined ? part : safeText(part))
  return {
    ...chunk,
    id: clean(chunk.id),
    name: clean(chunk.name),
    arguments: clean(chunk.arguments),
  }
}

function toolChars(calls: Map<number, ToolCall>) {
  let chars = 0
  for (const call of calls.values()) chars += call.name.length + call.arguments.length
  return chars
}

function asProviderError(
  error: unknown,
  signal: AbortSignal,
  reliability: ReturnType<typeof reliabilityOf>
) {
  const reason = reasonOf(signal)
  if (reason === 'first-token timeout')
    return new ProviderError(
      `The model did not start answering within ${reliability.firstTokenTimeoutMs} ms.`,
      504,
      true
    )
  if (reason === 'attempt timeout')
    return new ProviderError(
      `The model did not finish within ${reliability.totalTimeoutMs} ms.`,
      504,
      true
    )
  if (error instanceof ProviderError) return error
  return new ProviderError((error as Error)?.message ?? String(error), 502, true)
}

async function finishRun(
  plan: ExecutionPlan,
  result: RunOutcome & {
    spent: bigint
    overHold: boolean
    priced: CatalogModel
    ttftMs: number | null
    latencyMs: number
    steps: Step[]
  }
) {
  const { run, events } = plan
  try {
    await plan.recorded
    const error = result.failure
      ? problem(result.failure.status, result.failure.detail, {
          title: result.failure.title,
          type: result.failure.type,
        })
      : null
    run.merge({
      status: result.status,
      output: result.output,
      inputTokens: result.usage.inputTokens,
      outputTokens: result.usage.outputTokens,
      cachedTokens: result.usage.cachedTokens ?? 0,
      reasoningTokens: result.usage.reasoningTokens ?? 0,
      usageEstimated: result.usage.estimated,
      usageOverHold: result.overHold,
      costMicros: result.spent,
      model: result.priced.name,
      price: priceRecord(result.priced),
      error,
      errorType: runErrorType(result.status, error, upstreamStatus(result.steps)),
      latencyMs: result.latencyMs,
      ttftMs: result.ttftMs,
      finishedAt: DateTime.now(),
      // Extended when later steps needed more than the first call's worst case.
      holdMicros: plan.holdMicros,
      citations: result.citations.length ? result.citations : null,
    })
    if (result.overHold)
      logger.warn(
        { run_id: run.id, hold_micros: String(plan.holdMicros), usage: result.usage },
        'provider reported more usage than the hold covered; charged up to the hold'
      )
    const dto = await serializeRun(run, { stepRows: result.steps.map(stepRow) })
    const terminal =
      result.status === 'failed'
        ? events.end('error', { ...error, run: dto })
        : events.end('done', dto)
    const pending = await events.takePending()
    const replay = plan.idempotency ? plan.idempotency.response(run, dto) : null
    // ONE transaction for the outcome: the charge (at the prices in force when the run
    // started), the run, its steps, the thread's answer, the unwritten events and the replayed
    // response — bound to the tenant for row-level security, batched with the tenant's other
    // settlements by the credits module.
    const write = async (trx: TransactionClientContract) => {
      await recordFinishedRun(trx, run, result.steps, result.output, pending)
      if (replay)
        await completeIdempotencyKey(plan.idempotency!.scope, replay.status, replay.body, trx)
    }
    const charged = result.steps.filter((s) => s.costMicros > 0n && s.model)
    const price = {
      ...priceRecord(result.priced),
      ...(new Set(charged.map((s) => s.model!.id)).size > 1
        ? {
            parts: charged.map((s) => ({
              ...priceRecord(s.model!),
              cost_micros: String(s.costMicros),
            })),
          }
        : {}),
    }
    try {
      // One retry: a dropped connection must not leave a finished run unrecorded.
      await settle(plan.holdId, result.spent, {
        tenantId: run.tenantId,
        price,
        within: write,
      }).catch(async (first) => {
        if (first instanceof HoldNotPendingException) throw first
        await sleep(200)
        return settle(plan.holdId, result.spent, { tenantId: run.tenantId, price, within: write })
      })
    } catch (settleError) {
      // The hold is resolved: either our first attempt committed after all (its reply was
      // lost with the connection) or the run was recovered meanwhile. Report what is stored.
      if (!(settleError instanceof HoldNotPendingException)) throw settleError
      await run.refresh()
      if (run.status === result.status && run.costMicros === result.spent) {
        events.committed(terminal)
        outcomes.set(run, dto)
      } else {
        logger.warn(
          { run_id: run.id, stored: run.status },
          'run finished after it was recovered; the recovered outcome stands'
        )
        return run
      }
    }
    events.committed(terminal)
    outcomes.set(run, dto)
  } catch (error) {
    // Not recorded: the caller must not report success. Recovery in this process ends the run
    // within seconds (failed, not charged, its idempotency key freed).
    logger.error({ err: error, run_id: run.id }, 'recording a finished run failed')
    const notRecorded = problem(
      503,
      'The run finished but its outcome could not be recorded. A run that is not recorded is not charged.',
      { title: 'Run not recorded' }
    )
    run.merge({
      status: 'failed',
      error: notRecorded,
      errorType: runErrorType('failed', notRecorded),
    })
    unrecorded.add(run)
    events.unrecorded(run.error)
    return run
  }
  runMetrics.finished(run)
  try {
    await RunFinished.dispatch(RunFinished.factsOf(run))
  } catch (error) {
    logger.error({ err: error, run_id: run.id }, 'a RunFinished listener failed')
  }
  return run
}

/**
 * Writes the finished run, its steps, its unwritten events and (in a thread) the answer in ONE
 * statement. Only a run
 * still unfinished moves, so a run recovered meanwhile by another process keeps that outcome
 * (the statement then fails the transaction, and the charge with it).
 */
async function recordFinishedRun(
  trx: TransactionClientContract,
  run: Run,
  steps: Step[],
  output: string,
  events: RunEvent[]
) {
  // Dates serialise to ISO strings in the JSON handed to jsonb_to_recordset.
  const stepRows = steps.map(stepRow)
  const { rows } = await preparedQuery<{ rows: { n: number }[] }>(
    trx,
    `WITH finished AS (
       UPDATE runs SET status = ?, output = ?, input_tokens = ?, output_tokens = ?, cached_tokens = ?,
         reasoning_tokens = ?, usage_estimated = ?, usage_over_hold = ?, cost_micros = ?, model = ?,
         price = ?::jsonb, error = ?::jsonb, error_type = ?, latency_ms = ?, ttft_ms = ?, finished_at = ?,
         hold_micros = ?, citations = ?::jsonb
       WHERE id = ? AND tenant_id = ? AND status IN ('queued', 'running') RETURNING id, tenant_id, thread_id
     ), steps AS (
       INSERT INTO run_steps (tenant_id, run_id, position, parent, kind, name, model, status, input, output,
                              input_tokens, output_tokens, usage_estimated, cost_micros, price, tool_calls, error,
                              duration_ms, started_at, finished_at)
       SELECT f.tenant_id, f.id, x.position, x.parent, x.kind, x.name, x.model, x.status, x.input, x.output,
              x.input_tokens, x.output_tokens, x.usage_estimated, x.cost_micros, x.price, x.tool_calls, x.error,
              x.duration_ms, x.started_at, x.finished_at
       FROM finished f, jsonb_to_recordset(?::jsonb) AS x(position int, parent int, kind text, name text,
         model text, status text, input text, output text, input_tokens int, output_tokens int,
         usage_estimated boolean, cost_micros bigint, price jsonb, tool_calls jsonb, error jsonb,
         duration_ms int, started_at timestamptz, finished_at timestamptz)
       RETURNING 1
     ), answer AS (
       INSERT INTO messages (tenant_id, thread_id, run_id, role, content)
       SELECT f.tenant_id, f.thread_id, f.id, 'assistant', ? FROM finished f WHERE f.thread_id IS NOT NULL AND ? <> ''
       RETURNING 1
     ), logged AS (
       INSERT INTO run_events (tenant_id, run_id, seq, event, data)
       SELECT f.tenant_id, f.id, e.seq, e.event, e.data
       FROM finished f, jsonb_to_recordset(?::jsonb) AS e(seq int, event text, data jsonb)
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM finished`,
    [
      run.status,
      run.output,
      run.inputTokens,
      run.outputTokens,
      run.cachedTokens,
      run.reasoningTokens,
      run.usageEstimated,
      run.usageOverHold,
      run.costMicros.toString(),
      run.model,
      JSON.stringify(run.price),
      run.error ? JSON.stringify(run.error) : null,
      run.errorType ?? null,
      run.latencyMs,
      run.ttftMs,
      run.finishedAt!.toJSDate(),
      run.holdMicros.toString(),
      run.citations ? JSON.stringify(run.citations) : null,
      run.id,
      run.tenantId,
      JSON.stringify(stepRows),
      output,
      output,
      JSON.stringify(events),
    ]
  )
  if (rows[0].n !== 1) throw new Error(`run ${run.id} was already finished`)
}

/**
 * The HTTP status of the run's last failed model call: what a provider error's type is told by
 * (the migration adding error_type reads run_steps the same way).
 */
function upstreamStatus(steps: Step[]): number | null {
  const failed = steps.findLast(
    (s) => s.model && s.status === 'failed' && typeof s.error?.status === 'number'
  )
  return failed ? (failed.error!.status as number) : null
}

/** A step as the DTO reads it from run_steps (saves a query right after writing them). */
function stepRow(s: Step) {
  return {
    position: s.position,
    parent: s.parent,
    kind: s.kind,
    name: s.name,
    model: s.model?.name ?? null,
    status: s.status,
    input: s.input,
    output: s.output,
    input_tokens: s.usage.inputTokens,
    output_tokens: s.usage.outputTokens,
    usage_estimated: s.usageEstimated,
    cost_micros: s.costMicros.toString(),
    price: s.model ? priceRecord(s.model) : null,
    tool_calls: s.toolCalls.length ? s.toolCalls : null,
    error: s.error,
    duration_ms: Math.max(0, s.finishedAt.getTime() - s.startedAt.getTime()),
    started_at: s.startedAt,
    finished_at: s.finishedAt,
  }
}

/** Why a run stopped without an answer: its deadline, or this server shutting down. */
function abortFailure(signal: AbortSignal) {
  if (reasonOf(signal) === 'shutdown')
    return {
      status: 503,
      title: 'Server shut down',
      detail: 'The server shut down before the run finished.',
    }
  return {
    status: 504,
    title: 'Run timed out',
    detail: `The run exceeded ${runTimeoutMs() / 1000} s.`,
  }
}

function reasonOf(signal: AbortSignal) {
  return signal.aborted ? ((signal.reason as Error)?.message ?? 'aborted') : null
}
