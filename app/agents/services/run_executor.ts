import { setTimeout as sleep } from 'node:timers/promises'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import logger from '@adonisjs/core/services/logger'
import { problem } from '#core'
import { settle } from '#credits'
import Run from '#agents/models/run'
import { costMicros, type CatalogModel } from '#agents/services/catalog'
import { RunEventLog } from '#agents/services/run_events'
import { providerFor } from '#agents/providers/registry'
import { ProviderError, type ChatMessage, type SimulateOptions } from '#agents/providers/types'
import { serializeRun } from '#agents/dtos/run'
import RunFinished from '#agents/events/run_finished'

const MAX_ATTEMPTS_PER_MODEL = 3
const CANCEL_POLL_MS = 500

/** Runs in flight in this process, for cancellation without a round-trip. */
const inFlight = new Map<string, AbortController>()

/** Aborts a run executing in this process (other processes notice the DB flag). */
export function abortLocalRun(runId: string) {
  inFlight.get(runId)?.abort(new Error('cancelled'))
}

type Step = {
  position: number
  kind: 'model_call' | 'retry' | 'fallback'
  model: string
  status: 'succeeded' | 'failed' | 'cancelled'
  inputTokens: number
  outputTokens: number
  costMicros: bigint
  error: Record<string, unknown> | null
  startedAt: Date
  finishedAt: Date
}

export type ExecutionPlan = {
  run: Run
  messages: ChatMessage[]
  chain: CatalogModel[]
  maxTokens: number
  temperature: number | null
  simulate?: SimulateOptions
  holdId: string
  holdMicros: bigint
  events: RunEventLog
}

function firstTokenTimeoutMs() {
  return Number(process.env.PROVIDER_FIRST_TOKEN_TIMEOUT_MS ?? 30_000)
}

function runTimeoutMs() {
  return Number(process.env.RUN_TIMEOUT_S ?? 300) * 1000
}

/**
 * Executes a run that already holds its credits: calls the model chain (retries with backoff on
 * retryable errors, then the fallback models), streams deltas into the run's event log, stops
 * on cancellation or when the hold would be exceeded, then settles once and records the run.
 * Never throws: every path ends in a terminal state with its events written.
 */
export async function executeRun(plan: ExecutionPlan): Promise<Run> {
  const { run, events } = plan
  const controller = new AbortController()
  inFlight.set(run.id, controller)
  const started = performance.now()
  const deadline = setTimeout(() => controller.abort(new Error('timeout')), runTimeoutMs())
  const cancelPoll = setInterval(async () => {
    const row = await db.from('runs').where('id', run.id).select('cancel_requested_at').first().catch(() => null)
    if (row?.cancel_requested_at) controller.abort(new Error('cancelled'))
  }, CANCEL_POLL_MS)
  cancelPoll.unref()

  const steps: Step[] = []
  let output = ''
  let ttftMs: number | null = null
  let usage = { inputTokens: 0, outputTokens: 0 }
  let usedModel: CatalogModel | null = null
  let failure: { status: number; title: string; detail: string } | null = null
  let cancelled = false

  try {
    outer: for (const [modelIndex, model] of plan.chain.entries()) {
      for (let attempt = 0; attempt < MAX_ATTEMPTS_PER_MODEL; attempt++) {
        const stepStarted = new Date()
        let streamedInAttempt = false
        let attemptOutput = ''
        let attemptUsage: { inputTokens: number; outputTokens: number } | null = null
        const stepKind: Step['kind'] = attempt > 0 ? 'retry' : modelIndex > 0 ? 'fallback' : 'model_call'
        const attemptController = new AbortController()
        const onAbort = () => attemptController.abort()
        controller.signal.addEventListener('abort', onAbort)
        const firstToken = setTimeout(() => attemptController.abort(new Error('first-token timeout')), firstTokenTimeoutMs())
        try {
          const provider = providerFor(model)
          for await (const chunk of provider.stream({
            model: model.name,
            messages: plan.messages,
            maxTokens: plan.maxTokens,
            temperature: plan.temperature,
            signal: attemptController.signal,
            simulate: plan.simulate,
          })) {
            if (chunk.type === 'delta') {
              clearTimeout(firstToken)
              if (!streamedInAttempt && ttftMs === null) ttftMs = Math.round(performance.now() - started)
              streamedInAttempt = true
              attemptOutput += chunk.text
              // Spend never exceeds the hold: stop before the output could cost more.
              const projected = costMicros(0, Math.ceil((output.length + attemptOutput.length) / 4), model)
              if (projected > plan.holdMicros) {
                attemptController.abort(new Error('hold exhausted'))
                break
              }
              void events.emit('delta', { text: chunk.text })
            } else {
              attemptUsage = { inputTokens: chunk.inputTokens, outputTokens: chunk.outputTokens }
            }
          }
          clearTimeout(firstToken)
          output += attemptOutput
          usage = attemptUsage ?? { inputTokens: Math.ceil(plan.messages.reduce((s, m) => s + m.content.length, 0) / 4), outputTokens: Math.ceil(attemptOutput.length / 4) }
          usedModel = model
          steps.push(step(steps.length, stepKind, model, controller.signal.aborted ? 'cancelled' : 'succeeded', usage, null, stepStarted))
          if (controller.signal.aborted) cancelled = reasonOf(controller.signal) === 'cancelled'
          failure = null
          break outer
        } catch (error) {
          clearTimeout(firstToken)
          const timedOut = reasonOf(attemptController.signal) === 'first-token timeout'
          const providerError =
            error instanceof ProviderError
              ? error
              : new ProviderError(timedOut ? 'The model did not start answering in time.' : (error as Error).message, timedOut ? 504 : 502, timedOut)
          const partial = { inputTokens: streamedInAttempt ? Math.ceil(plan.messages.reduce((s, m) => s + m.content.length, 0) / 4) : 0, outputTokens: Math.ceil(attemptOutput.length / 4) }
          if (controller.signal.aborted) {
            cancelled = reasonOf(controller.signal) === 'cancelled'
            output += attemptOutput
            usage = partial
            usedModel = model
            steps.push(step(steps.length, stepKind, model, cancelled ? 'cancelled' : 'failed', partial, { message: providerError.message }, stepStarted))
            if (!cancelled) failure = { status: 504, title: 'Run timed out', detail: `The run exceeded ${runTimeoutMs() / 1000} s.` }
            break outer
          }
          steps.push(step(steps.length, stepKind, model, 'failed', partial, { status: providerError.status, message: providerError.message }, stepStarted))
          failure = { status: 502, title: 'Provider error', detail: providerError.message }
          // Text already streamed to the client cannot be taken back: no transparent retry.
          if (streamedInAttempt) {
            output += attemptOutput
            usage = partial
            usedModel = model
            break outer
          }
          if (!providerError.retryable) break
          const backoff = providerError.retryAfterMs ?? Math.min(2000, 100 * 2 ** attempt) * (0.5 + Math.random())
          await sleep(backoff, undefined, { signal: controller.signal }).catch(() => {})
          if (controller.signal.aborted) {
            cancelled = reasonOf(controller.signal) === 'cancelled'
            break outer
          }
        } finally {
          controller.signal.removeEventListener('abort', onAbort)
        }
      }
    }
  } finally {
    clearTimeout(deadline)
    clearInterval(cancelPoll)
    inFlight.delete(run.id)
  }

  const price = usedModel ?? plan.chain[0]
  const spent = usedModel ? minBigInt(costMicros(usage.inputTokens, usage.outputTokens, price), plan.holdMicros) : 0n
  const status = cancelled ? 'cancelled' : failure ? 'failed' : 'succeeded'
  const latencyMs = Math.round(performance.now() - started)
  return finishRun(plan, { status, output, usage, spent, price, ttftMs, latencyMs, steps, failure })
}

async function finishRun(
  plan: ExecutionPlan,
  result: {
    status: 'succeeded' | 'failed' | 'cancelled'
    output: string
    usage: { inputTokens: number; outputTokens: number }
    spent: bigint
    price: CatalogModel
    ttftMs: number | null
    latencyMs: number
    steps: Step[]
    failure: { status: number; title: string; detail: string } | null
  }
) {
  const { run, events } = plan
  try {
    // Money first: the charge is exact even if recording the run below fails (the sweeper then
    // ends the run as failed).
    await settle(plan.holdId, result.spent, {
      tenantId: run.tenantId,
      price: { model: result.price.name, input_price_micros: String(result.price.inputPrice), output_price_micros: String(result.price.outputPrice) },
    })
    const error = result.failure ? problem(result.failure.status, result.failure.detail, { title: result.failure.title }) : null
    await db.transaction(async (trx) => {
      run.useTransaction(trx)
      run.merge({
        status: result.status,
        output: result.output,
        inputTokens: result.usage.inputTokens,
        outputTokens: result.usage.outputTokens,
        costMicros: result.spent,
        model: result.price.name,
        error,
        latencyMs: result.latencyMs,
        ttftMs: result.ttftMs,
        finishedAt: DateTime.now(),
      })
      await run.save()
      if (result.steps.length) {
        await trx.table('run_steps').multiInsert(
          result.steps.map((s) => ({
            tenant_id: run.tenantId,
            run_id: run.id,
            position: s.position,
            kind: s.kind,
            model: s.model,
            status: s.status,
            input_tokens: s.inputTokens,
            output_tokens: s.outputTokens,
            cost_micros: (s === result.steps.at(-1) ? result.spent : 0n).toString(),
            error: s.error ? JSON.stringify(s.error) : null,
            started_at: s.startedAt,
            finished_at: s.finishedAt,
          }))
        )
      }
      if (run.threadId && result.output) {
        await trx.table('messages').insert({ tenant_id: run.tenantId, thread_id: run.threadId, run_id: run.id, role: 'assistant', content: result.output })
      }
    })
    const dto = await serializeRun(run)
    if (result.status === 'failed') await events.emit('error', { ...error, run: dto })
    else await events.emit('done', dto)
    await RunFinished.dispatch(run.tenantId, run.id, result.status, result.spent)
  } catch (error) {
    logger.error({ err: error, run_id: run.id }, 'recording a finished run failed')
    await events.emit('error', problem(500, 'The run finished but could not be recorded.', {}))
  }
  return run
}

function step(position: number, kind: Step['kind'], model: CatalogModel, status: Step['status'], usage: { inputTokens: number; outputTokens: number }, error: Record<string, unknown> | null, startedAt: Date): Step {
  return { position, kind, model: model.name, status, ...usage, costMicros: 0n, error, startedAt, finishedAt: new Date() }
}

function reasonOf(signal: AbortSignal) {
  return signal.aborted ? ((signal.reason as Error)?.message ?? 'aborted') : null
}

function minBigInt(a: bigint, b: bigint) {
  return a < b ? a : b
}

