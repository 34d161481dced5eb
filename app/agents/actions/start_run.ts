import { randomUUID } from 'node:crypto'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { withTenant } from '#tenants'
import { Exception } from '@adonisjs/core/exceptions'
import {
  DomainException,
  IDEMPOTENCY_KEY_RULE,
  InvalidInputException,
  isIdempotencyKey,
  isUuid,
  PROCESS_ID,
  takeRate,
} from '#core'
import { hold, release } from '#credits'
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
  type IdempotencyScope,
} from '#platform'
import Run from '#agents/models/run'
import type Agent from '#agents/models/agent'
import AgentVersion from '#agents/models/agent_version'
import Thread from '#agents/models/thread'
import { RunEventLog } from '#agents/services/run_events'
import type { ChatMessage } from '#agents/providers/types'
import {
  agentRuntime,
  agentRuntimeBySlug,
  withInstructions,
  worstCase,
} from '#agents/services/agent_runtime'
import { renderTemplate } from '#agents/services/workflow_template'
import type Workflow from '#agents/models/workflow'
import type WorkflowVersion from '#agents/models/workflow_version'
import {
  executeRun,
  runTimeoutMs,
  type ExecutionPlan,
  type RunOutcome,
} from '#agents/services/run_executor'
import { acceptingRuns, dispatchRun } from '#agents/services/run_queue'
import { ensureOwnerHeartbeat } from '#agents/services/run_owners'
import { abandonRun } from '#agents/services/runs'
import { serializeRun, type RunDto } from '#agents/dtos/run'

const HISTORY_LIMIT = 50

export type RunSource = 'api' | 'web' | 'cli' | 'openai' | 'eval'

/**
 * How the caller waits: for the end (`wait`), following its events (`stream`), or not at all
 * (`async`: a queued job).
 */
export type RunMode = 'wait' | 'stream' | 'async'

/** Idempotency-Key handling, the same on every entry point; only the replayed shape differs. */
export type RunIdempotency = {
  route: string
  key: string
  /** Fingerprint of the request (requestHash of what the caller sent). */
  hash: string
  /** What a retry replays once the run is finished (or accepted, for `async`). */
  response(run: Run, dto: RunDto): { status: number; body: unknown }
  /** What a retry replays after a refusal (402, 403, 422). */
  refusal(error: { status: number; message: string }): { status: number; body: unknown }
}

export type StartRunInput = {
  tenantId: string
  /** The agent to run, or null with `directModel` for a plain catalog-model call. */
  agent: Agent | null
  /** The version to run: the current one when the caller has it already (agentForRun), or an
   * earlier one (evaluations compare versions). Default: the agent's current version. */
  version?: AgentVersion
  /** A workflow run (with `agent` null): its current version is run step by step. */
  workflow?: { workflow: Workflow; version: WorkflowVersion }
  directModel?: {
    model: string
    maxTokens?: number
    temperature?: number | null
    tools?: unknown[]
  }
  memberId: string | null
  text: string
  threadId?: string | null
  /** Starts a conversation when `threadId` is empty (web chat); it is removed again if the run is refused. */
  newThread?: { title: string; createdBy: string | null }
  /** The conversation so far, when the caller sends it (OpenAI-compatible endpoint). */
  history?: ChatMessage[]
  metadata?: Record<string, unknown>
  source: RunSource
  mode: RunMode
  idempotency?: RunIdempotency
}

export type StartedRun =
  | { replayed: true; status: number; body: unknown }
  | {
      replayed: false
      run: Run
      events: RunEventLog
      /** Settles with the recorded run (for `async`, once a worker finished it elsewhere: not awaited). */
      finished: Promise<Run>
      /** The provider side's result, before bookkeeping (lets a stream end early). */
      outcome: Promise<RunOutcome>
    }

/** 409: an Idempotency-Key in flight or reused with another body. */
/** The idempotency key is held by another request (still running, or for a different input). */
export class RunConflictException extends DomainException {
  constructor(detail: string) {
    super(detail, { status: 409, code: 'E_IDEMPOTENCY_CONFLICT' })
  }
}

/** 503 while this process shuts down: the client retries on another one. */
export class RunsDrainingException extends Exception {
  static status = 503
  static code = 'E_DRAINING'
  headers = { 'Retry-After': '2' }
  constructor() {
    super('This server is restarting; retry in a moment.', { status: 503, code: 'E_DRAINING' })
  }
}

/**
 * THE use case for starting a run, whatever the entry point (API, web chat, OpenAI-compatible
 * endpoint, CLI; later workflows and evaluations): claims the idempotency key, resolves the
 * thread (creating one if asked, undone on refusal), builds the prompt, places ONE hold for
 * the worst case over the model chain (402 when not covered), records the run with this process
 * as its owner, then executes it here (`wait`, `stream`) or queues it (`async`). The outcome —
 * charge, run, steps, events, thread message, idempotent response — commits in one
 * transaction (see run_executor). Callers only choose the response shape.
 */
export async function startRun(input: StartRunInput): Promise<StartedRun> {
  // Refused, never truncated (two long keys would collide) nor looked up (a uuid column).
  if (input.idempotency && !isIdempotencyKey(input.idempotency.key))
    throw new InvalidInputException('idempotency_key', IDEMPOTENCY_KEY_RULE)
  if (input.threadId && !isUuid(input.threadId))
    throw new InvalidInputException('thread_id', 'No such thread in this workspace.')
  if (!acceptingRuns()) throw new RunsDrainingException()
  // Run starts a minute per tenant, all entry points together; counted before the key is
  // claimed, so a 429 never becomes the key's stored answer.
  const runsPerMin = Number(process.env.RATE_LIMIT_RUNS_PER_MIN) || 600
  await takeRate(
    `runs:tenant:${input.tenantId}`,
    runsPerMin,
    `This workspace started more than ${runsPerMin} runs in a minute; wait and retry.`
  )
  await ensureOwnerHeartbeat()
  const runId = randomUUID()
  const scope: IdempotencyScope | null = input.idempotency
    ? { tenantId: input.tenantId, route: input.idempotency.route, key: input.idempotency.key }
    : null
  if (scope) {
    const claim = await claimIdempotencyKey(scope, input.idempotency!.hash, {
      reference: `run:${runId}`,
      staleAfterMs: runTimeoutMs() + 60_000,
    })
    if (claim.state === 'conflict') throw new RunConflictException(claim.detail)
    if (claim.state === 'replay') return { replayed: true, status: claim.status, body: claim.body }
  }

  let createdThread: Thread | null = null
  let prepared: Awaited<ReturnType<typeof prepare>>
  try {
    let thread: Thread | null = null
    if (input.threadId) {
      thread = await Thread.query()
        .where('tenantId', input.tenantId)
        .where('id', input.threadId)
        .first()
      if (!thread) throw new InvalidInputException('thread_id', 'No such thread in this workspace.')
    } else if (input.newThread && input.agent) {
      thread = createdThread = await Thread.create({
        tenantId: input.tenantId,
        agentId: input.agent.id,
        title: input.newThread.title,
        createdBy: input.newThread.createdBy,
      })
    }
    prepared = await prepare(input, runId, thread)
  } catch (error: any) {
    // A refusal is a final answer and is replayed; anything else frees the key.
    if (createdThread) await createdThread.delete().catch(() => {})
    const status = typeof error?.status === 'number' ? error.status : 500
    if (scope && status < 500) {
      const refused = input.idempotency!.refusal({ status, message: error.message })
      await completeIdempotencyKey(scope, refused.status, refused.body)
    } else if (scope) await releaseIdempotencyKey(scope)
    throw error
  }

  const { run, plan } = prepared
  if (input.mode === 'async') {
    try {
      await plan.recorded
      // The worker continues this log: its first events must be stored before it starts.
      await plan.events.flush()
      await dispatchRun(run)
    } catch (error) {
      // Not queued: the caller gets the error, and the run ends now (hold released, key freed)
      // rather than waiting in `queued` for recovery.
      await abandonRun(run, 'The run could not be queued.').catch(() => {})
      throw error
    }
    if (scope) {
      const accepted = input.idempotency!.response(run, await serializeRun(run, { steps: false }))
      // Queued already: a lost write here leaves the key in flight until the run's timeout.
      await completeIdempotencyKey(scope, accepted.status, accepted.body).catch(() => {})
    }
    const never = new Promise<never>(() => {})
    return { replayed: false, run, events: plan.events, finished: never, outcome: never }
  }
  if (scope) plan.idempotency = { scope, response: input.idempotency!.response }
  let reportOutcome!: (outcome: RunOutcome) => void
  const outcome = new Promise<RunOutcome>((resolve) => (reportOutcome = resolve))
  const finished = executeRun(plan, { onOutcome: reportOutcome })
  return { replayed: false, run, events: plan.events, finished, outcome }
}

/** Pins the version, builds the prompt, places the hold and records the run (see `early` below). */
async function prepare(input: StartRunInput, runId: string, thread: Thread | null) {
  const pinned =
    input.version && input.agent && input.version.agentId === input.agent.id ? input.version : null
  const version = input.agent
    ? (pinned ??
      (await AgentVersion.query()
        .where('agentId', input.agent.id)
        .where('version', input.agent.currentVersion)
        .firstOrFail()))
    : null
  const prompt = await buildPrompt({
    tenantId: input.tenantId,
    version,
    workflowVersion: input.workflow?.version,
    directModel: input.directModel,
    agentSlug: input.agent?.slug,
    text: input.text,
    history: input.history ?? (thread ? await threadHistory(input.tenantId, thread.id) : []),
    metadata: input.metadata,
  })

  const placed = await hold({
    tenantId: input.tenantId,
    amount: prompt.holdMicros,
    reference: `run:${runId}`,
    memberId: input.memberId ?? undefined,
    agentId: input.agent?.id,
    labels: { agent: input.agent?.slug },
    // The run ends by RUN_TIMEOUT_S; the hold outlives it by a minute, then the sweeper frees it.
    ttlSeconds: Math.ceil(runTimeoutMs() / 1000) + 60,
  })

  const queued = input.mode === 'async'
  const run = new Run()
  run.fill({
    id: runId,
    tenantId: input.tenantId,
    agentId: input.agent?.id ?? null,
    agentVersionId: version?.id ?? null,
    version: version?.version ?? null,
    workflowId: input.workflow?.workflow.id ?? null,
    workflowVersionId: input.workflow?.version.id ?? null,
    workflowVersion: input.workflow?.version.version ?? null,
    threadId: thread?.id ?? null,
    memberId: input.memberId,
    status: queued ? 'queued' : 'running',
    input: input.text,
    output: '',
    inputTokens: 0,
    outputTokens: 0,
    costMicros: 0n,
    holdMicros: prompt.holdMicros,
    holdId: placed.id,
    metadata: input.metadata ?? {},
    source: input.source,
    owner: queued ? null : PROCESS_ID,
    attempts: queued ? 0 : 1,
    startedAt: queued ? null : DateTime.now(),
  })
  const record = async () => {
    try {
      if (!thread) return void (await run.save())
      await withTenant(input.tenantId, async (trx) => {
        run.useTransaction(trx)
        await run.save()
        await trx.table('messages').insert({
          tenant_id: input.tenantId,
          thread_id: thread.id,
          run_id: runId,
          role: 'user',
          content: input.text,
        })
        await trx.from('threads').where('id', thread.id).update({ updated_at: new Date() })
      })
    } catch (error) {
      // Without its row the run cannot be recorded: give the credits back.
      await release(placed, { tenantId: input.tenantId }).catch(() => {})
      throw error
    }
  }
  // A caller that reads the run back only at its end gets the row written once the provider
  // request is on its way (one round trip less before the first token); everything that
  // writes about the run waits for it. Streams and queued runs are looked up at once: written first.
  const early = input.mode === 'wait' || input.source === 'openai'
  const recorded = early
    ? new Promise<void>((resolve) => setImmediate(resolve)).then(record)
    : record()
  recorded.catch(() => {})
  if (!early) await recorded

  const events = new RunEventLog(input.tenantId, run.id, recorded)
  events.emit('run', { id: run.id, status: run.status })
  const plan: ExecutionPlan = { run, recorded, ...prompt, holdId: placed.id, events }
  return { run, plan }
}

/**
 * The prompt and the money bound of a run: instructions, history and input; the model chain
 * with the prices in force now; ONE hold for the worst case of the first model call (later
 * calls of a tool loop, handoffs and workflow steps extend it as they go; see run_executor).
 * 422 when the estimate exceeds the model's context window.
 */
export async function buildPrompt(input: {
  tenantId: string
  version: AgentVersion | null
  agentSlug?: string | null
  workflowVersion?: WorkflowVersion | null
  directModel?: StartRunInput['directModel']
  text: string
  history: ChatMessage[]
  metadata?: Record<string, unknown>
}) {
  if (input.workflowVersion) {
    // A workflow starts with its first step's agent on the rendered template.
    const steps = input.workflowVersion.steps
    const runtime = await agentRuntimeBySlug(input.tenantId, steps[0].agent, input.metadata)
    if (!runtime)
      throw new InvalidInputException(
        'steps.0.agent',
        `The workflow's first agent "${steps[0].agent}" no longer exists.`
      )
    const messages = withInstructions(runtime, [
      { role: 'user', content: renderTemplate(steps[0].input, input.text, []) },
    ])
    const worst = worstCase(runtime, messages)
    return {
      messages,
      runtime,
      estInputTokens: worst.estInputTokens,
      holdMicros: worst.micros,
      workflow: { input: input.text, steps },
    }
  }
  const runtime = await agentRuntime(
    input.tenantId,
    input.version ? { version: input.version, slug: input.agentSlug ?? null } : input.directModel!,
    input.metadata
  )
  const messages = withInstructions(runtime, [
    ...input.history,
    { role: 'user', content: input.text },
  ])
  const worst = worstCase(runtime, messages)
  return { messages, runtime, estInputTokens: worst.estInputTokens, holdMicros: worst.micros }
}

/** The thread's messages before this run (the run's own user message excluded when retried). */
export async function threadHistory(
  tenantId: string,
  threadId: string,
  exceptRunId?: string
): Promise<ChatMessage[]> {
  const query = db.from('messages').where('tenant_id', tenantId).where('thread_id', threadId)
  if (exceptRunId) query.where((q) => q.whereNull('run_id').orWhereNot('run_id', exceptRunId))
  const rows = await query
    .orderBy('created_at', 'desc')
    .limit(HISTORY_LIMIT)
    .select('role', 'content')
  return rows.reverse().map((row) => ({ role: row.role, content: row.content }))
}
