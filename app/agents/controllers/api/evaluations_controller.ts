import type { HttpContext } from '@adonisjs/core/http'
import vine from '@vinejs/vine'
import db from '@adonisjs/lucid/services/db'
import { keysetPage, NotFoundException, pageParams } from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import {
  compareEvalRuns,
  createSuite,
  evalResults,
  evalRunJson,
  findEvalRun,
  findSuite,
  startEvaluation,
  suiteCases,
  suiteJson,
  type EvalRunRow,
  type SuiteRow,
} from '#agents/actions/evaluations'
import { findAgent } from '#agents/services/lookup'

const startValidator = vine.create({
  version: vine.number().withoutDecimals().min(1).optional().nullable(),
})

/**
 * Evaluations: an agent's suites (`/agents/:idOrSlug/eval-suites`), runs of a suite against a
 * version (`/eval-suites/:id/runs`, 202 and a queued job) and their results (`/eval-runs/:id`).
 */
export default class EvaluationsController {
  async index(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const agent = await this.#agent(ctx)
    const query = db
      .from('eval_suites')
      .where('eval_suites.tenant_id', tenant.id)
      .where('eval_suites.agent_id', agent.id)
    const page = await keysetPage<SuiteRow>(query, 'eval_suites', pageParams(ctx))
    return {
      data: page.rows.map((suite) => suiteJson(suite, null)),
      next_cursor: page.next_cursor,
    }
  }

  async store(ctx: HttpContext) {
    const { membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    const agent = await this.#agent(ctx)
    assertWritable(ctx)
    const body = ctx.request.body()
    const suite = await createSuite({
      agent,
      actorId: membership.userId,
      name: body.name,
      cases: body.cases,
    })
    ctx.response.header('Location', `/api/v1/eval-suites/${suite.id}`)
    return ctx.response.created(suiteJson(suite, await suiteCases(suite)))
  }

  async show(ctx: HttpContext) {
    const suite = await this.#suite(ctx, 'agents.read')
    return suiteJson(suite, await suiteCases(suite))
  }

  /** Runs of a suite, newest first. */
  async runs(ctx: HttpContext) {
    const suite = await this.#suite(ctx, 'runs.read')
    const query = db
      .from('eval_runs')
      .where('eval_runs.tenant_id', suite.tenant_id)
      .where('eval_runs.suite_id', suite.id)
    const page = await keysetPage<EvalRunRow>(query, 'eval_runs', pageParams(ctx))
    return {
      data: page.rows.map((run) => evalRunJson(run, null)),
      next_cursor: page.next_cursor,
    }
  }

  async start(ctx: HttpContext) {
    const { membership } = currentTenant(ctx)
    const suite = await this.#suite(ctx, 'runs.write')
    assertWritable(ctx)
    const input = await ctx.request.validateUsing(startValidator)
    const run = await startEvaluation({
      suite,
      version: input.version ?? null,
      actorId: membership.userId,
    })
    ctx.response.header('Location', `/api/v1/eval-runs/${run.id}`)
    return ctx.response.status(202).json(evalRunJson(run, null))
  }

  async result(ctx: HttpContext) {
    const run = await this.#evalRun(ctx, ctx.params.id)
    return evalRunJson(run, await evalResults(run))
  }

  /** Two runs of one suite side by side, case by case (`?with=<other eval run id>`). */
  async comparison(ctx: HttpContext) {
    const run = await this.#evalRun(ctx, ctx.params.id)
    const other = await this.#evalRun(ctx, ctx.request.qs().with)
    return compareEvalRuns(run, other)
  }

  async #agent(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    const agent = await findAgent(tenant.id, ctx.params.idOrSlug)
    if (!agent) throw new NotFoundException()
    return agent
  }

  async #suite(ctx: HttpContext, permission: 'agents.read' | 'runs.read' | 'runs.write') {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, permission)
    const suite = await findSuite(tenant.id, ctx.params.id)
    if (!suite) throw new NotFoundException()
    return suite
  }

  async #evalRun(ctx: HttpContext, id: unknown) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'runs.read')
    const run = await findEvalRun(tenant.id, id)
    if (!run) throw new NotFoundException()
    return run
  }
}
