import type { HttpContext } from '@adonisjs/core/http'
import db from '@adonisjs/lucid/services/db'
import { DateTime } from 'luxon'
import { InvalidInputException, isHtmx, NotFoundException, onRefusal, urlFor } from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import {
  compareEvalRuns,
  createSuite,
  evalResults,
  evalRunJson,
  findEvalRun,
  findSuite,
  startEvaluation,
  type EvalRunRow,
  type SuiteRow,
} from '#agents/actions/evaluations'
import { findAgent } from '#agents/services/lookup'
import { lineDiff } from '#agents/controllers/web/version_diff'
import { can, localTime, routeAgent } from '#agents/controllers/web/helpers'

const EXAMPLE = JSON.stringify(
  [
    {
      input: 'Where do orders ship from?',
      assertions: [
        { type: 'contains', value: 'Lyon' },
        { type: 'max_latency_ms', value: 5000 },
      ],
    },
  ],
  null,
  2
)

type SuiteForm = { name: string; cases: string; errors: Record<string, string[]> }

/**
 * /t/:tenant/agents/:slug/evaluations (suites, a run per version, new suites) and
 * /t/:tenant/eval-runs/:id (results, live while running; compare with another run).
 */
export default class EvaluationsController {
  async index(ctx: HttpContext) {
    authorize(ctx, 'agents.read')
    return this.#renderIndex(ctx, null)
  }

  async store(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const agent = await routeAgent(ctx)
    const form: SuiteForm = {
      name: String(ctx.request.input('name') ?? ''),
      cases: String(ctx.request.input('cases') ?? ''),
      errors: {},
    }
    onRefusal(ctx, {
      render: ({ error, message: summary }) => {
        // `cases.3.assertions.0.value` is shown on the cases box, naming the case.
        const field = error instanceof InvalidInputException ? (error.field ?? '') : ''
        const message = error instanceof Error ? error.message : summary
        const at = /^cases\.(\d+)\.(.+)$/.exec(field)
        form.errors = field.startsWith('cases')
          ? { cases: [at ? `Case ${Number(at[1]) + 1}, ${at[2]}: ${message}` : message] }
          : { name: [message] }
        ctx.response.status(422)
        return this.#renderIndex(ctx, form)
      },
    })
    let cases: unknown
    try {
      cases = JSON.parse(form.cases)
    } catch {
      throw new InvalidInputException('cases', 'The cases are not valid JSON (see the example).')
    }
    const suite = await createSuite({ agent, actorId: membership.userId, name: form.name, cases })
    ctx.session.flash('success', `Suite "${suite.name}" created.`)
    return ctx.response.redirect(
      `${urlFor('agents.web.evaluations.index', { tenant: tenant.slug, slug: agent.slug })}#suite-${suite.id}`
    )
  }

  /** Runs a suite against the chosen version, then shows its (live) results. */
  async start(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'runs.write')
    assertWritable(ctx)
    const agent = await routeAgent(ctx)
    const suite = await findSuite(tenant.id, ctx.params.id)
    if (!suite || suite.agent_id !== agent.id) throw new NotFoundException()
    const version = Number(ctx.request.input('version')) || null
    onRefusal(ctx, {
      render: ({ message }) => {
        ctx.session.flash('error', `The evaluation did not start: ${message}`)
        return ctx.response.redirect(
          urlFor('agents.web.evaluations.index', { tenant: tenant.slug, slug: agent.slug })
        )
      },
    })
    const run = await startEvaluation({ suite, version, actorId: membership.userId })
    return ctx.response.redirect(
      urlFor('agents.web.eval_runs.show', { tenant: tenant.slug, id: run.id })
    )
  }

  /** An evaluation's results; htmx polls the results fragment while it runs. */
  async show(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'runs.read')
    const run = await findEvalRun(tenant.id, ctx.params.id)
    if (!run) throw new NotFoundException()
    const props = await this.#runProps(ctx, run)
    if (isHtmx(ctx)) return ctx.view.render('agents::components/eval_run_results', props)
    return ctx.view.render('agents::pages/eval_run', props)
  }

  /** Two runs of one suite side by side (`?with=`). */
  async comparison(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'runs.read')
    const [a, b] = await Promise.all([
      findEvalRun(tenant.id, ctx.params.id),
      findEvalRun(tenant.id, ctx.request.qs().with),
    ])
    if (!a || !b) throw new NotFoundException()
    const agent = await findAgent(tenant.id, a.agent_id)
    if (!agent) throw new NotFoundException()
    const compared = await compareEvalRuns(a, b)
    return ctx.view.render('agents::pages/eval_comparison', {
      agent,
      compared: {
        ...compared,
        cases: compared.cases.map((item) => ({
          ...item,
          diff: lineDiff(item.a?.output ?? '', item.b?.output ?? ''),
        })),
      },
      urls: {
        a: urlFor('agents.web.eval_runs.show', { tenant: tenant.slug, id: a.id }),
        b: urlFor('agents.web.eval_runs.show', { tenant: tenant.slug, id: b.id }),
      },
    })
  }

  async #renderIndex(ctx: HttpContext, form: SuiteForm | null) {
    const { tenant } = currentTenant(ctx)
    const agent = await routeAgent(ctx)
    const suites = (await db
      .from('eval_suites')
      .where('tenant_id', tenant.id)
      .where('agent_id', agent.id)
      .orderBy('created_at', 'desc')
      .limit(100)) as SuiteRow[]
    const runs = (await db
      .from('eval_runs')
      .where('tenant_id', tenant.id)
      .where('agent_id', agent.id)
      .orderBy('created_at', 'desc')
      .limit(200)) as EvalRunRow[]
    const counts = await db
      .from('eval_cases')
      .where('tenant_id', tenant.id)
      .whereIn(
        'suite_id',
        suites.map((suite) => suite.id)
      )
      .groupBy('suite_id')
      .select('suite_id')
      .count('* as n')
    return ctx.view.render('agents::pages/evaluations', {
      agent,
      versions: Array.from({ length: agent.currentVersion }, (_, i) => agent.currentVersion - i),
      suites: suites.map((suite) => ({
        id: suite.id,
        name: suite.name,
        cases: Number(counts.find((row) => row.suite_id === suite.id)?.n ?? 0),
        start: urlFor('agents.web.eval_runs.store', {
          tenant: tenant.slug,
          slug: agent.slug,
          id: suite.id,
        }),
        runs: runs
          .filter((run) => run.suite_id === suite.id)
          .slice(0, 10)
          .map((run) => this.#runRow(ctx, run)),
      })),
      form: form ?? { name: '', cases: EXAMPLE, errors: {} },
      canWrite: can(ctx, 'agents.write'),
      canRun: can(ctx, 'runs.write'),
    })
  }

  #runRow(ctx: HttpContext, run: EvalRunRow) {
    const { tenant } = currentTenant(ctx)
    const json = evalRunJson(run, null)
    return {
      ...json,
      percent: json.pass_rate === null ? '–' : `${Math.round(json.pass_rate * 100)}%`,
      created: localTime(ctx, DateTime.fromJSDate(new Date(run.created_at))),
      url: urlFor('agents.web.eval_runs.show', { tenant: tenant.slug, id: run.id }),
    }
  }

  async #runProps(ctx: HttpContext, run: EvalRunRow) {
    const { tenant } = currentTenant(ctx)
    const [agent, suite, results, others] = [
      await findAgent(tenant.id, run.agent_id),
      await findSuite(tenant.id, run.suite_id),
      await evalResults(run),
      (await db
        .from('eval_runs')
        .where('tenant_id', tenant.id)
        .where('suite_id', run.suite_id)
        .whereNot('id', run.id)
        .orderBy('created_at', 'desc')
        .limit(50)) as EvalRunRow[],
    ]
    const json = evalRunJson(run, results)
    return {
      agent,
      suite,
      run: {
        ...json,
        percent: json.pass_rate === null ? '–' : `${Math.round(json.pass_rate * 100)}%`,
        live: run.status === 'queued' || run.status === 'running',
      },
      others: others.map((other) => this.#runRow(ctx, other)),
      urls: {
        self: urlFor('agents.web.eval_runs.show', { tenant: tenant.slug, id: run.id }),
        compare: urlFor('agents.web.eval_comparisons.show', { tenant: tenant.slug, id: run.id }),
        runOf: (id: string | null) =>
          id ? urlFor('agents.web.runs.show', { tenant: tenant.slug, id }) : null,
        suites: agent
          ? urlFor('agents.web.evaluations.index', { tenant: tenant.slug, slug: agent.slug })
          : null,
      },
    }
  }
}
