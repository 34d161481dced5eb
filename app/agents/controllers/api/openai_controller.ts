import type { HttpContext } from '@adonisjs/core/http'
import {
  DomainException,
  inBackground,
  openAiError,
  openAiErrorOf,
  openEventStream,
  TRANSIENT_RETRY_AFTER_S,
} from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import Agent from '#agents/models/agent'
import Workflow from '#agents/models/workflow'
import { findWorkflow } from '#agents/services/lookup'
import { requestHash } from '#platform'
import { startRun } from '#agents/actions/start_run'
import { onRunEvent } from '#agents/services/run_events'
import { catalog } from '#agents/services/catalog'
import { agentForRun } from '#agents/services/agent_cache'
import type Run from '#agents/models/run'
import type { ChatMessage, ToolCall } from '#agents/providers/types'
import { completionValidator } from '#agents/validators/openai'
import type { ChatCompletion, ChatUsage, ModelList } from '#agents/dtos/openai'

type OpenAiError = {
  status: number
  message: string
  type: string
  code: string | null
  param?: string | null
}

function textOf(content: string | { type: string; text?: string }[]) {
  return typeof content === 'string' ? content : content.map((part) => part.text ?? '').join('')
}

/**
 * OpenAI-compatible chat completions and model list. `model: "agent:<slug>"` runs that agent
 * (billed and recorded like any run); a catalog model id calls the model directly. Errors use
 * OpenAI's shape, and non-retryable ones say so in `x-should-retry`.
 */
export default class OpenAiController {
  async models(ctx: HttpContext): Promise<ModelList> {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const created = Math.floor(Date.now() / 1000)
    const agents = await Agent.query()
      .where('tenantId', tenant.id)
      .whereNull('deletedAt')
      .orderBy('slug')
      .select('slug', 'createdAt')
    const workflows = await Workflow.query()
      .where('tenantId', tenant.id)
      .whereNull('deletedAt')
      .orderBy('slug')
      .select('slug', 'createdAt')
    return {
      object: 'list',
      data: [
        ...[...(await catalog(tenant.id)).values()].map((m) => ({
          id: m.name,
          object: 'model' as const,
          created,
          owned_by: m.providerSlug,
        })),
        ...agents.map((a) => ({
          id: `agent:${a.slug}`,
          object: 'model' as const,
          created: Math.floor(a.createdAt.toSeconds()),
          owned_by: tenant.slug,
        })),
        ...workflows.map((w) => ({
          id: `workflow:${w.slug}`,
          object: 'model' as const,
          created: Math.floor(w.createdAt.toSeconds()),
          owned_by: tenant.slug,
        })),
      ],
    }
  }

  /** Refusals and failures are rendered by the exception handler, in OpenAI's shape. */
  async completions(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'runs.write')
    assertWritable(ctx)
    const body = await ctx.request.validateUsing(completionValidator)
    const messages = body.messages.map((m) => ({
      role: m.role === 'developer' ? 'system' : m.role,
      content: textOf(m.content as any),
    })) as ChatMessage[]
    const lastUser = messages.findLastIndex((m) => m.role === 'user')
    if (lastUser === -1)
      throw new DomainException('must contain a user message.', {
        code: 'invalid_messages',
        field: 'messages',
      })
    const agentSlug = body.model.startsWith('agent:') ? body.model.slice(6) : null
    const workflowSlug = body.model.startsWith('workflow:') ? body.model.slice(9) : null
    const found = agentSlug ? await agentForRun(tenant.id, agentSlug) : null
    const workflow = workflowSlug ? await findWorkflow(tenant.id, workflowSlug) : null
    const agent = found?.agent ?? null
    if (agentSlug ? !agent : workflowSlug ? !workflow : !(await catalog(tenant.id)).has(body.model))
      throw new DomainException(`The model "${body.model}" does not exist.`, {
        status: 404,
        code: 'model_not_found',
      })

    const streaming = Boolean(body.stream)
    const created = Math.floor(Date.now() / 1000)
    const completionId = (runId: string) => `chatcmpl-${runId.replaceAll('-', '')}`
    const key = ctx.request.header('idempotency-key')
    const started = await startRun({
      tenantId: tenant.id,
      agent,
      version: found?.version,
      workflow: workflow ? { workflow: workflow.workflow, version: workflow.version } : undefined,
      directModel:
        agent || workflow
          ? undefined
          : {
              model: body.model,
              maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
              temperature: body.temperature,
              tools: body.tools,
            },
      memberId: membership.userId,
      text: messages[lastUser].content,
      history: messages.filter((_, index) => index !== lastUser),
      source: 'openai',
      mode: streaming ? 'stream' : 'wait',
      idempotency: key
        ? {
            route: 'chat.completions',
            key,
            hash: requestHash(ctx.request.body()),
            response: (run) =>
              run.status === 'succeeded'
                ? {
                    status: 200,
                    body: this.#completion(completionId(run.id), created, body.model, run, []),
                  }
                : this.#errorBody(this.#runError(run)),
            refusal: (error) => openAiErrorOf(error),
          }
        : undefined,
    })
    if (started.replayed) {
      if (started.status >= 400) ctx.response.header('x-should-retry', 'false')
      return ctx.response.status(started.status).json(started.body)
    }
    const id = completionId(started.run.id)

    if (!streaming) {
      const run = await started.finished
      if (run.status !== 'succeeded') return this.#error(ctx, this.#runError(run))
      return this.#completion(id, created, body.model, run, (await started.outcome).toolCalls)
    }

    const stream = openEventStream(ctx)
    const chunk = (
      delta: Record<string, unknown>,
      finish: string | null,
      extra: Record<string, unknown> = {}
    ) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: body.model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      ...extra,
    })
    // Chunks produced in the same turn of the event loop leave in one write (one TCP segment
    // instead of one per delta); `flush` sends what is pending at once.
    let pending = ''
    let scheduled = false
    const flush = () => {
      scheduled = false
      if (pending) stream.raw(pending)
      pending = ''
    }
    const write = (data: unknown) => {
      pending += `data: ${JSON.stringify(data)}\n\n`
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    }
    write(chunk({ role: 'assistant', content: '' }, null))
    const unsubscribe = onRunEvent(started.run.id, (event) => {
      if (event.event === 'delta')
        write(chunk({ content: (event.data as { text: string }).text }, null))
    })
    // The client's answer ends as soon as the provider is done; settling and recording the run
    // follow in one transaction (the hold already bounds the charge; a crash is recovered).
    inBackground(
      started.outcome.then((outcome) => {
        unsubscribe()
        if (stream.closed) return
        if (outcome.status === 'succeeded' || outcome.status === 'cancelled') {
          if (outcome.toolCalls.length)
            write(
              chunk(
                {
                  tool_calls: openAiToolCalls(outcome.toolCalls).map((call, index) => ({
                    index,
                    ...call,
                  })),
                },
                null
              )
            )
          const usage = usageBody(
            outcome.usage.inputTokens,
            outcome.usage.outputTokens,
            outcome.usage.cachedTokens ?? 0,
            outcome.usage.reasoningTokens ?? 0
          )
          write(chunk({}, outcome.toolCalls.length ? 'tool_calls' : 'stop', { usage }))
        } else {
          write({
            error: {
              message: outcome.failure?.detail ?? 'The model call failed.',
              type: 'api_error',
              code: 'upstream_error',
            },
          })
        }
        pending += 'data: [DONE]\n\n'
        flush()
        stream.close()
      }),
      'streaming a chat completion'
    )
    inBackground(
      started.finished.then((run) => {
        // No outcome was reported (recording failed first): still end the stream.
        if (!stream.closed) {
          unsubscribe()
          write({ error: this.#runError(run) })
          pending += 'data: [DONE]\n\n'
          flush()
          stream.close()
        }
      }),
      'ending a chat completion stream'
    )
  }

  /** A non-streamed chat completion for a finished run. */
  #completion(
    id: string,
    created: number,
    model: string,
    run: Run,
    toolCalls: ToolCall[]
  ): ChatCompletion {
    return {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: run.output || (toolCalls.length ? null : ''),
            ...(toolCalls.length ? { tool_calls: openAiToolCalls(toolCalls) } : {}),
          },
          finish_reason: toolCalls.length ? 'tool_calls' : 'stop',
          logprobs: null,
        },
      ],
      usage: this.#usage(run),
    }
  }

  #usage(run: Run) {
    return usageBody(
      run.inputTokens,
      run.outputTokens,
      run.cachedTokens ?? 0,
      run.reasoningTokens ?? 0
    )
  }

  #runError(run: Run): OpenAiError {
    // Finished but not recorded (the database went away): not charged, worth retrying.
    if (run.error?.status === 503)
      return { status: 503, message: run.error.detail, type: 'api_error', code: 'run_not_recorded' }
    return {
      status: 502,
      message: run.error?.detail ?? 'The model call failed.',
      type: 'api_error',
      code: 'upstream_error',
    }
  }

  #error(ctx: HttpContext, error: OpenAiError) {
    ctx.response.header(
      'x-should-retry',
      error.status === 429 || error.status >= 500 ? 'true' : 'false'
    )
    if (error.status === 503) ctx.response.header('Retry-After', String(TRANSIENT_RETRY_AFTER_S))
    const { status, body } = this.#errorBody(error)
    return ctx.response.status(status).json(body)
  }

  #errorBody(error: OpenAiError) {
    const body = openAiError(error.status, error.message, error.code)
    body.error.type = error.type
    if (error.param) (body.error as { param: string | null }).param = error.param
    return { status: error.status, body }
  }
}

/** OpenAI's usage object, with cached and reasoning token details where known. */
function usageBody(input: number, output: number, cached: number, reasoning: number): ChatUsage {
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: input + output,
    ...(cached ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
    ...(reasoning ? { completion_tokens_details: { reasoning_tokens: reasoning } } : {}),
  }
}

function openAiToolCalls(calls: ToolCall[]) {
  return calls.map((call) => ({
    id: call.id,
    type: 'function' as const,
    function: { name: call.name, arguments: call.arguments },
  }))
}
