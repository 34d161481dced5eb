import type { HttpContext } from '@adonisjs/core/http'
import { DateTime } from 'luxon'
import {
  formatCredits,
  inBackground,
  isHtmx,
  isUuid,
  keysetPage,
  NotFoundException,
  onRefusal,
  pageParams,
  openEventStream,
  urlFor,
} from '#core'
import type { InsufficientCreditsException } from '#credits'
import { assertWritable, authorize, currentTenant } from '#tenants'
import Agent from '#agents/models/agent'
import Run, { RUN_STATUSES } from '#agents/models/run'
import Thread from '#agents/models/thread'
import Workflow from '#agents/models/workflow'
import { requestHash } from '#platform'
import { startRun } from '#agents/actions/start_run'
import { followRun, requestCancellation } from '#agents/services/runs'
import { runListFilters, runListQuery, type RunListRow } from '#agents/services/run_list'
import { ERROR_TYPES, errorTypeLabel } from '#agents/services/error_types'
import { serializeRun, type RunDto } from '#agents/dtos/run'
import type { FieldErrors } from '#agents/controllers/web/agent_form'
import {
  flashFormState,
  localTime,
  pageUrl,
  refusedRun,
  routeAgent,
} from '#agents/controllers/web/helpers'
import { htmlRunStream, sendFinished } from '#agents/controllers/web/run_stream'
import { stepTree } from '#agents/controllers/web/step_tree'
import { CHAT_FLASH_KEY, chatFormProps, recentThreads } from '#agents/controllers/web/chat_form'

/**
 * The run's citations, each with the position of the knowledge_search step whose output holds
 * its passage (the anchor it links to), or null when no recorded step shows it.
 */
function citationLinks(dto: RunDto) {
  const searches = (dto.steps ?? []).filter(
    (step) => step.kind === 'tool_call' && step.name === 'knowledge_search' && step.output
  )
  const links = new Map<
    string,
    { document_name: string; document_id: string; step: number | null }
  >()
  for (const citation of dto.citations ?? []) {
    const step = searches.find((s) => s.output!.includes(citation.chunk_id))?.position ?? null
    // Several passages of one document found by one search: one source line.
    links.set(`${citation.document_id}:${step}`, { ...citation, step })
  }
  return [...links.values()]
}

const MAX_INPUT = 200_000

/**
 * Runs in the browser: start one from the chat page (streamed over SSE with htmx, synchronous
 * without JavaScript), the history with filters, one run's details, its live events, stopping it.
 */
export default class RunsController {
  async store(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'runs.write')
    assertWritable(ctx)
    const agent = await routeAgent(ctx)
    const rawInput = ctx.request.input('input')
    const input = typeof rawInput === 'string' ? rawInput : ''
    const threadId = ctx.request.input('thread_id')
    let thread: Thread | null = null
    if (threadId) {
      thread = isUuid(threadId)
        ? await Thread.query()
            .where('tenantId', tenant.id)
            .where('agentId', agent.id)
            .where('id', threadId)
            .first()
        : null
      if (!thread) throw new NotFoundException('This conversation does not exist (any more).')
    }
    const chatUrl = (id?: string) =>
      urlFor(
        'agents.web.chat.show',
        { tenant: tenant.slug, slug: agent.slug },
        { qs: { thread: id } }
      )

    if (input.trim() === '' || input.length > MAX_INPUT) {
      const errors = {
        input: [
          input.trim() === ''
            ? 'Write a message first.'
            : `Messages are limited to ${MAX_INPUT} characters.`,
        ],
      }
      return this.#rejected(
        ctx,
        agent,
        errors,
        { input, threadId: thread?.id ?? null },
        chatUrl(thread?.id)
      )
    }

    // The form carries a key made when it was rendered: a double submit starts one run.
    const formKey = ctx.request.input('idempotency_key')
    // Refused runs: an alert (htmx) or the chat again with the message kept, worded for a person.
    onRefusal(ctx, {
      render: ({ status, code, message, error }) => {
        let text = message
        if (code === 'E_INSUFFICIENT_CREDITS') {
          const { needed, available } = error as InsufficientCreditsException
          text =
            `Not enough credits to run ${agent.name}: ` +
            `this message may cost up to ${formatCredits(needed)} credits and the workspace has ` +
            `${formatCredits(available < 0n ? 0n : available)} available. An owner or admin can add credits.`
        } else if (code === 'E_VALIDATION_ERROR') {
          text = `This agent cannot run: ${message} Edit the agent to fix it.`
        } else if (code === 'E_IDEMPOTENCY_CONFLICT') {
          text = 'This message is already being answered.'
        }
        return this.#alert(
          ctx,
          status,
          text,
          { input, threadId: thread?.id ?? null },
          chatUrl(thread?.id)
        )
      },
    })
    const started = await startRun({
      tenantId: tenant.id,
      agent,
      memberId: membership.userId,
      text: input,
      threadId: thread?.id,
      newThread: { title: input.trim().slice(0, 80), createdBy: membership.userId },
      source: 'web',
      mode: isHtmx(ctx) ? 'stream' : 'wait',
      idempotency:
        typeof formKey === 'string' && /^[\w-]{8,64}$/.test(formKey)
          ? {
              route: `web-runs:${agent.id}:${membership.userId}`,
              key: formKey,
              hash: requestHash({ input, thread: thread?.id ?? null }),
              response: (run) => ({
                status: 200,
                body: { run_id: run.id, thread_id: run.threadId },
              }),
              refusal: (error) => ({ status: error.status, body: { message: error.message } }),
            }
          : undefined,
    })
    if (started.replayed) {
      // The same form sent twice: show the conversation the first submit started.
      const first = started.body as { thread_id?: string | null; message?: string }
      if (started.status >= 400)
        return this.#alert(
          ctx,
          started.status,
          first.message ?? 'This message was refused.',
          { input, threadId: thread?.id ?? null },
          chatUrl(thread?.id)
        )
      return isHtmx(ctx)
        ? ctx.response.header('HX-Redirect', chatUrl(first.thread_id ?? undefined)).status(204)
        : ctx.response.redirect(chatUrl(first.thread_id ?? undefined))
    }
    const conversationId = started.run.threadId!

    if (!isHtmx(ctx)) {
      // Without JavaScript there is nothing to stream into: run to the end, then show the thread.
      await started.finished
      return ctx.response.redirect(chatUrl(conversationId))
    }
    const created = !thread
    if (created) ctx.response.header('HX-Push-Url', chatUrl(conversationId))
    return ctx.view.render('agents::components/chat_reply', {
      run: started.run,
      live: true,
      form: chatFormProps(ctx, agent, conversationId, { values: { input: '' }, errors: null }),
      threads: created ? await recentThreads(tenant.id, agent.id) : null,
      agent,
      currentThreadId: conversationId,
    })
  }

  async index(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'runs.read')
    const filters = runListFilters(ctx.request.qs())
    const { query, errors } = await runListQuery(tenant, filters)
    const params = pageParams(ctx, { forgiving: true })
    const page = await keysetPage<RunListRow>(query, 'runs', params)
    const named = (run: RunListRow, kind: 'agent' | 'workflow') =>
      run[`${kind}_name`] === null
        ? null
        : {
            name: run[`${kind}_name`],
            slug: run[`${kind}_slug`],
            deletedAt: run[`${kind}_deleted_at`],
          }
    return ctx.view.render('agents::pages/runs', {
      filters,
      errors,
      statuses: RUN_STATUSES,
      errorTypes: ERROR_TYPES.map((type) => ({ value: type, label: errorTypeLabel(type) })),
      agentOptionsUrl: urlFor('agents.web.agent_options.index', { tenant: tenant.slug }),
      hourLabel:
        filters.hour && !errors.hour
          ? localTime(ctx, DateTime.fromISO(filters.hour, { zone: 'utc' }), 'yyyy-LL-dd HH:00')
          : null,
      csvUrl: urlFor(
        'agents.web.run_exports.show',
        { tenant: tenant.slug },
        { qs: Object.fromEntries(Object.entries(filters).filter(([, value]) => value)) }
      ),
      rows: page.rows.map((run) => ({
        run: {
          id: run.id,
          status: run.status,
          model: run.model,
          inputTokens: run.input_tokens,
          outputTokens: run.output_tokens,
          costMicros: run.cost_micros,
          latencyMs: run.latency_ms,
          source: run.source,
          errorType: run.error_type ? errorTypeLabel(run.error_type) : null,
        },
        agent: named(run, 'agent'),
        workflow: named(run, 'workflow'),
        created: localTime(ctx, DateTime.fromJSDate(run.created_at), 'yyyy-LL-dd HH:mm:ss'),
      })),
      nextUrl: page.next_cursor ? pageUrl(ctx, page.next_cursor) : null,
      firstUrl: params.cursor ? pageUrl(ctx, null) : null,
      filtered: Object.values(filters).some(Boolean),
    })
  }

  async show(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    const run = await this.#find(ctx, 'runs.read')
    const agent = run.agentId
      ? await Agent.query().where('tenantId', tenant.id).where('id', run.agentId).first()
      : null
    const workflow = run.workflowId
      ? await Workflow.query().where('tenantId', tenant.id).where('id', run.workflowId).first()
      : null
    const dto = await serializeRun(run)
    return ctx.view.render('agents::pages/run', {
      run,
      agent,
      workflow,
      tree: stepTree(dto.steps ?? []),
      citations: citationLinks(dto),
      created: localTime(ctx, run.createdAt, 'yyyy-LL-dd HH:mm:ss'),
      finished: localTime(ctx, run.finishedAt, 'yyyy-LL-dd HH:mm:ss'),
    })
  }

  /** The run's events as HTML for htmx's SSE extension (see run_stream.ts). */
  async events(ctx: HttpContext) {
    const run = await this.#find(ctx, 'runs.read')
    const finished = async () => {
      const fresh = await Run.query()
        .where('tenantId', run.tenantId)
        .where('id', run.id)
        .firstOrFail()
      return ctx.view.render('agents::components/run_bubble', {
        run: fresh,
        live: false,
        oob: true,
      })
    }
    const stream = openEventStream(ctx)
    // A run that already ended (or a client resuming after it did) gets the finished bubble at once.
    if (run.terminal) return sendFinished(stream, finished)
    const lastEventId = Number(ctx.request.header('last-event-id') ?? 0)
    inBackground(
      followRun(
        run.tenantId,
        run.id,
        Number.isInteger(lastEventId) && lastEventId > 0 ? lastEventId : 0,
        htmlRunStream(stream, finished)
      ),
      'following a run'
    )
  }

  async cancellation(ctx: HttpContext) {
    const run = await this.#find(ctx, 'runs.write')
    assertWritable(ctx)
    const stopping = await requestCancellation(run)
    if (isHtmx(ctx)) {
      return ctx.response
        .status(202)
        .send(
          `<span class="muted small">${stopping ? 'Stopping…' : 'This run already ended.'}</span>`
        )
    }
    ctx.session.flash(
      'info',
      stopping ? 'Stopping the run: it ends within two seconds.' : 'This run already ended.'
    )
    return ctx.response.redirect().back()
  }

  /**
   * A refused message: htmx gets the message in the page's alert region (never a blank swap);
   * a browser without JavaScript goes back to the chat with the message and its text kept.
   */
  #alert(
    ctx: HttpContext,
    status: number,
    message: string,
    values: { input: string; threadId: string | null },
    chatUrl: string
  ) {
    return refusedRun(ctx, {
      status,
      message,
      url: chatUrl,
      flashKey: CHAT_FLASH_KEY,
      input: values.input,
    })
  }

  /** An invalid message: the chat form again with the error (htmx swaps it in place). */
  async #rejected(
    ctx: HttpContext,
    agent: Agent,
    errors: FieldErrors,
    values: { input: string; threadId: string | null },
    chatUrl: string
  ) {
    if (isHtmx(ctx)) {
      ctx.response.header('HX-Retarget', '#chat-form').header('HX-Reswap', 'outerHTML')
      return ctx.response
        .status(422)
        .send(
          await ctx.view.render(
            'agents::components/chat_form',
            chatFormProps(ctx, agent, values.threadId, { values: { input: values.input }, errors })
          )
        )
    }
    flashFormState(ctx, CHAT_FLASH_KEY, { values: { input: values.input.slice(0, 500) }, errors })
    return ctx.response.redirect(chatUrl)
  }

  async #find(ctx: HttpContext, permission: 'runs.read' | 'runs.write') {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, permission)
    const run = isUuid(ctx.params.id)
      ? await Run.query().where('tenantId', tenant.id).where('id', ctx.params.id).first()
      : null
    if (!run) throw new NotFoundException()
    return run
  }
}
