import type { HttpContext } from '@adonisjs/core/http'
import {
  inBackground,
  InvalidInputException,
  isUuid,
  keysetPage,
  NotFoundException,
  openEventStream,
  pageParams,
  problem,
  wantsEventStream,
} from '#core'
import { requestHash } from '#platform'
import { assertWritable, authorize, currentTenant } from '#tenants'
import Run from '#agents/models/run'
import type Agent from '#agents/models/agent'
import type AgentVersion from '#agents/models/agent_version'
import type Workflow from '#agents/models/workflow'
import type WorkflowVersion from '#agents/models/workflow_version'
import { listRunsValidator, startRunValidator } from '#agents/validators/agents'
import { startRun } from '#agents/actions/start_run'
import { followRun, requestCancellation } from '#agents/services/runs'
import { finishedRunDto } from '#agents/services/run_executor'
import { findAgent } from '#agents/services/lookup'
import { agentForRun } from '#agents/services/agent_cache'
import { serializeRun, type RunCancellationDto } from '#agents/dtos/run'

/** /api/v1 runs: start (JSON, SSE or async), history, one run, its events, cancellation. */
export default class RunsController {
  async store(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'runs.write')
    assertWritable(ctx)
    const found = await agentForRun(tenant.id, ctx.params.idOrSlug)
    if (!found) throw new NotFoundException()
    return startApiRun(ctx, { agent: found.agent, version: found.version })
  }

  async index(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'runs.read')
    const query = Run.query().where('runs.tenant_id', tenant.id)
    const { agent, status, error, member, model, from, to } = await listRunsValidator.validate(
      ctx.request.qs()
    )
    if (agent !== undefined) {
      const found = await findAgent(tenant.id, agent)
      query.where('runs.agent_id', found?.id ?? '00000000-0000-0000-0000-000000000000')
    }
    if (status) query.where('runs.status', status)
    if (error) query.where('runs.status', 'failed').where('runs.error_type', error)
    if (member) query.where('runs.member_id', member)
    if (model) query.where('runs.model', model)
    if (from) query.where('runs.created_at', '>=', from)
    if (to) query.where('runs.created_at', '<', to)
    const page = await keysetPage<Run>(query, 'runs', pageParams(ctx))
    return {
      data: await Promise.all(page.rows.map((run) => serializeRun(run, { steps: false }))),
      next_cursor: page.next_cursor,
    }
  }

  async show(ctx: HttpContext) {
    const run = await this.#find(ctx)
    return serializeRun(run)
  }

  async events(ctx: HttpContext) {
    const run = await this.#find(ctx)
    const lastEventId = Number(
      ctx.request.header('last-event-id') ?? ctx.request.input('last_event_id') ?? 0
    )
    const stream = openEventStream(ctx)
    inBackground(
      followRun(
        run.tenantId,
        run.id,
        Number.isInteger(lastEventId) && lastEventId > 0 ? lastEventId : 0,
        stream
      ),
      'following a run'
    )
  }

  async cancellation(ctx: HttpContext) {
    const run = await this.#find(ctx, 'runs.write')
    assertWritable(ctx)
    await requestCancellation(run)
    return ctx.response.status(202).json({
      id: run.id,
      status: run.terminal ? run.status : 'cancelling',
    } satisfies RunCancellationDto)
  }

  async #find(ctx: HttpContext, permission: 'runs.read' | 'runs.write' = 'runs.read') {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, permission)
    const run = isUuid(ctx.params.id)
      ? await Run.query().where('tenantId', tenant.id).where('id', ctx.params.id).first()
      : null
    if (!run) throw new NotFoundException()
    return run
  }
}

/**
 * POST …/runs of an agent or a workflow: JSON (201 when finished), SSE, or async (202); the
 * Idempotency-Key is scoped to what is run.
 */
export async function startApiRun(
  ctx: HttpContext,
  target:
    | { agent: Agent; version: AgentVersion }
    | { workflow: Workflow; workflowVersion: WorkflowVersion }
) {
  const { tenant, membership } = currentTenant(ctx)
  const input = await ctx.request.validateUsing(startRunValidator)
  const streaming = wantsEventStream(ctx)
  const mode = input.async ? 'async' : streaming ? 'stream' : 'wait'
  const key = ctx.request.header('idempotency-key')
  const route =
    'agent' in target ? `runs:${target.agent.id}` : `workflow-runs:${target.workflow.id}`
  if ('workflow' in target && input.thread_id)
    throw new InvalidInputException('thread_id', 'Workflow runs do not take a thread.')

  const started = await startRun({
    tenantId: tenant.id,
    ...('agent' in target
      ? { agent: target.agent, version: target.version }
      : {
          agent: null,
          workflow: { workflow: target.workflow, version: target.workflowVersion },
        }),
    memberId: membership.userId,
    text: input.input,
    threadId: input.thread_id,
    metadata: input.metadata,
    source: 'api',
    mode,
    idempotency: key
      ? {
          route,
          key,
          // The body as sent (validated input also carries request metadata such as headers).
          hash: requestHash({ ...ctx.request.body(), stream: streaming }),
          response: (_run, dto) => ({ status: mode === 'async' ? 202 : 201, body: dto }),
          refusal: (error) => ({
            status: error.status,
            body: problem(error.status, error.message, { request_id: ctx.request.id() }),
          }),
        }
      : undefined,
  })

  if (started.replayed) return ctx.response.status(started.status).json(started.body)
  ctx.response.header('Location', `/api/v1/runs/${started.run.id}`)
  if (mode === 'async')
    return ctx.response.status(202).json(await serializeRun(started.run, { steps: false }))
  if (mode === 'stream') {
    inBackground(
      followRun(tenant.id, started.run.id, 0, openEventStream(ctx, 200)),
      'following a run'
    )
    return
  }
  return ctx.response.created(await finishedRunDto(await started.finished))
}
