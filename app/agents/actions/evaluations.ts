import db from '@adonisjs/lucid/services/db'
import logger from '@adonisjs/core/services/logger'
import { Locator } from '@adonisjs/queue'
import { DomainException, InvalidInputException, isUuid, safeText } from '#core'
import { recordAudit } from '#platform'
import { withTenant } from '#tenants'
import type Agent from '#agents/models/agent'
import AgentVersion from '#agents/models/agent_version'
import EvalRunFinished from '#agents/events/eval_run_finished'
import RunEvaluationJob from '#agents/jobs/run_evaluation'
import { failuresOf, parseAssertions, type Assertion } from '#agents/evals/assertions'
import { findAgent } from '#agents/services/lookup'
import { dispatchWork } from '#agents/services/run_queue'
import { startRun } from '#agents/actions/start_run'

Locator.register('RunEvaluationJob', RunEvaluationJob)

export const MAX_CASES = 100
const MAX_INPUT = 10_000

export type SuiteRow = {
  id: string
  tenant_id: string
  agent_id: string
  name: string
  created_at: Date
  updated_at: Date
}
export type CaseRow = { id: string; position: number; input: string; assertions: Assertion[] }
export type EvalRunRow = {
  id: string
  tenant_id: string
  suite_id: string
  agent_id: string
  agent_version: number
  status: 'queued' | 'running' | 'succeeded' | 'failed'
  total: number
  passed: number
  failed: number
  error: string | null
  created_by: string | null
  created_at: Date
  started_at: Date | null
  finished_at: Date | null
}
export type ResultRow = {
  position: number
  input: string
  run_id: string | null
  passed: boolean
  failures: string[]
  output: string | null
  latency_ms: number | null
  cost_micros: string
}

/** Cases as sent (`cases.N.input`, `cases.N.assertions.M…` name what is wrong). */
function parseCases(raw: unknown) {
  if (!Array.isArray(raw) || raw.length === 0)
    throw new InvalidInputException('cases', 'Give at least one case.')
  if (raw.length > MAX_CASES)
    throw new InvalidInputException('cases', `At most ${MAX_CASES} cases per suite.`)
  return raw.map((item, index) => {
    const at = `cases.${index}`
    if (!item || typeof item !== 'object' || Array.isArray(item))
      throw new InvalidInputException(at, 'A case is an object {input, assertions}.')
    const { input, assertions } = item as { input?: unknown; assertions?: unknown }
    if (typeof input !== 'string' || !input.trim())
      throw new InvalidInputException(`${at}.input`, 'Give the input the agent receives.')
    if (input.length > MAX_INPUT)
      throw new InvalidInputException(`${at}.input`, `At most ${MAX_INPUT} characters.`)
    return { input, assertions: parseAssertions(assertions, `${at}.assertions`) }
  })
}

/** Creates a suite of cases for an agent; a name is unique per agent (422 on `name`). */
export async function createSuite(input: {
  agent: Agent
  actorId: string | null
  name: unknown
  cases: unknown
}) {
  const name = typeof input.name === 'string' ? safeText(input.name.trim()) : ''
  if (!name || name.length > 120)
    throw new InvalidInputException('name', 'Give the suite a name of at most 120 characters.')
  const cases = parseCases(input.cases)
  const { tenantId } = input.agent
  try {
    return await withTenant(tenantId, async (trx) => {
      const [suite] = (await trx
        .table('eval_suites')
        .insert({ tenant_id: tenantId, agent_id: input.agent.id, name, created_by: input.actorId })
        .returning('*')) as SuiteRow[]
      await trx.table('eval_cases').insert(
        cases.map((item, position) => ({
          tenant_id: tenantId,
          suite_id: suite.id,
          position,
          input: item.input,
          assertions: JSON.stringify(item.assertions),
        }))
      )
      await recordAudit(
        {
          action: 'agents.eval_suite.created',
          actorId: input.actorId,
          tenantId,
          subjectType: 'eval_suite',
          subjectId: suite.id,
          changes: { name, agent: input.agent.slug, cases: cases.length },
        },
        trx
      )
      return suite
    })
  } catch (error: any) {
    if (error?.code === '23505')
      throw new InvalidInputException('name', 'This agent already has a suite with this name.')
    throw error
  }
}

/** A suite of the tenant by id (or by name within an agent), or null → 404. */
export async function findSuite(tenantId: string, ref: unknown, agentId?: string) {
  if (typeof ref !== 'string' || !ref || ref.length > 120) return null
  const query = db.from('eval_suites').where('tenant_id', tenantId)
  if (isUuid(ref)) query.where('id', ref)
  else if (agentId) query.where('agent_id', agentId).where('name', ref)
  else return null
  return ((await query.first()) as SuiteRow | null) ?? null
}

export async function suiteCases(suite: SuiteRow): Promise<CaseRow[]> {
  return db
    .from('eval_cases')
    .where('tenant_id', suite.tenant_id)
    .where('suite_id', suite.id)
    .orderBy('position')
    .select('id', 'position', 'input', 'assertions')
}

export async function findEvalRun(tenantId: string, id: unknown) {
  if (!isUuid(id)) return null
  const row = await db.from('eval_runs').where('tenant_id', tenantId).where('id', id).first()
  return (row as EvalRunRow | null) ?? null
}

export async function evalResults(run: EvalRunRow): Promise<ResultRow[]> {
  return db
    .from('eval_results')
    .where('tenant_id', run.tenant_id)
    .where('eval_run_id', run.id)
    .orderBy('position')
    .select(
      'position',
      'input',
      'run_id',
      'passed',
      'failures',
      'output',
      'latency_ms',
      'cost_micros'
    )
}

/**
 * Queues a run of the suite against one version of its agent (default: the current one; an
 * unknown version is a 422 on `version`). Each case becomes a real run, billed like any other.
 */
export async function startEvaluation(input: {
  suite: SuiteRow
  version?: number | null
  actorId: string | null
  /** False: the caller runs it itself with evaluate() (agent:eval). */
  queue?: boolean
}) {
  const { suite } = input
  const agent = await findAgent(suite.tenant_id, suite.agent_id)
  if (!agent)
    throw new DomainException('The agent of this suite was deleted.', {
      status: 422,
      code: 'E_VALIDATION',
    })
  const number = input.version ?? agent.currentVersion
  if (!Number.isInteger(number) || number < 1 || number > agent.currentVersion)
    throw new InvalidInputException(
      'version',
      `This agent has versions 1 to ${agent.currentVersion}.`
    )
  const cases = await suiteCases(suite)
  const run = await withTenant(suite.tenant_id, async (trx) => {
    const [row] = (await trx
      .table('eval_runs')
      .insert({
        tenant_id: suite.tenant_id,
        suite_id: suite.id,
        agent_id: agent.id,
        agent_version: number,
        total: cases.length,
        created_by: input.actorId,
      })
      .returning('*')) as EvalRunRow[]
    await recordAudit(
      {
        action: 'agents.eval_run.created',
        actorId: input.actorId,
        tenantId: suite.tenant_id,
        subjectType: 'eval_run',
        subjectId: row.id,
        changes: { suite: suite.name, version: number },
      },
      trx
    )
    return row
  })
  if (input.queue !== false)
    await queueEvaluation(run).catch((error) =>
      logger.warn({ err: error, eval_run_id: run.id }, 'queueing an evaluation failed')
    )
  return run
}

function queueEvaluation(run: Pick<EvalRunRow, 'id' | 'tenant_id'>) {
  const payload = { tenantId: run.tenant_id, evalRunId: run.id }
  return dispatchWork(
    async () => {
      await RunEvaluationJob.dispatch(payload).toQueue('runs')
    },
    () => evaluateInBackground(payload.tenantId, payload.evalRunId)
  )
}

const evaluating = new Set<Promise<void>>()

/** Resolves once no evaluation runs in this process (shutdown, tests). */
export async function evaluationsIdle() {
  while (evaluating.size) await Promise.allSettled([...evaluating])
}

export function evaluateInBackground(tenantId: string, evalRunId: string) {
  const work: Promise<void> = evaluate(tenantId, evalRunId)
    .catch((error) => logger.error({ err: error, eval_run_id: evalRunId }, 'evaluation failed'))
    .finally(() => evaluating.delete(work))
  evaluating.add(work)
}

/**
 * Claims a queued evaluation (whoever claims first runs it) and runs its cases one after
 * another through the run engine (source `eval`, the version pinned, billed like any run),
 * recording each result and the counts as it goes. A refused run (credits, budget, rate limit)
 * stops the evaluation `failed` with the reason; finishing emits EvalRunFinished.
 */
export async function evaluate(tenantId: string, evalRunId: string) {
  const claimed = (await withTenant(tenantId, (trx) =>
    trx
      .from('eval_runs')
      .where('tenant_id', tenantId)
      .where('id', evalRunId)
      .where('status', 'queued')
      .update({ status: 'running', started_at: new Date(), updated_at: new Date() })
      .returning('*')
  )) as EvalRunRow[]
  const run = claimed[0]
  if (!run) return
  const agent = await findAgent(tenantId, run.agent_id)
  const version = agent
    ? await AgentVersion.query()
        .where('agentId', agent.id)
        .where('version', run.agent_version)
        .first()
    : null
  const suite = await findSuite(tenantId, run.suite_id)
  const counts = { passed: 0, failed: 0 }
  let error: string | null = agent && version && suite ? null : 'The agent or suite was deleted.'
  for (const item of error ? [] : await suiteCases(suite!)) {
    const outcome = await runCase(tenantId, agent!, version!, run.created_by, item)
    if (outcome.refused !== undefined) {
      error = outcome.refused
      break
    }
    counts[outcome.passed ? 'passed' : 'failed']++
    await withTenant(tenantId, async (trx) => {
      await trx.table('eval_results').insert({
        tenant_id: tenantId,
        eval_run_id: run.id,
        position: item.position,
        input: item.input,
        run_id: outcome.runId,
        passed: outcome.passed,
        failures: JSON.stringify(outcome.failures),
        output: outcome.output,
        latency_ms: outcome.latencyMs,
        cost_micros: outcome.costMicros.toString(),
      })
      await trx
        .from('eval_runs')
        .where('id', run.id)
        .update({ ...counts, updated_at: new Date() })
    })
  }
  const status = error ? 'failed' : 'succeeded'
  await withTenant(tenantId, (trx) =>
    trx
      .from('eval_runs')
      .where('id', run.id)
      .update({ status, error, finished_at: new Date(), updated_at: new Date() })
  )
  await EvalRunFinished.dispatch({
    tenantId,
    evalRunId: run.id,
    suiteId: run.suite_id,
    agentId: run.agent_id,
    agentVersion: run.agent_version,
    status,
    ...counts,
  })
}

type CaseOutcome =
  | { refused: string }
  | {
      refused?: undefined
      runId: string
      passed: boolean
      failures: string[]
      output: string
      latencyMs: number | null
      costMicros: bigint
    }

/** One case through the run engine: its result, or why the run was refused. */
async function runCase(
  tenantId: string,
  agent: Agent,
  version: AgentVersion,
  memberId: string | null,
  item: CaseRow
): Promise<CaseOutcome> {
  let started
  try {
    started = await startRun({
      tenantId,
      agent,
      version,
      memberId,
      text: item.input,
      source: 'eval',
      mode: 'wait',
    })
  } catch (failure) {
    if (failure instanceof DomainException || (failure as any)?.status < 500)
      return { refused: `Case ${item.position + 1}: ${(failure as Error).message}` }
    throw failure
  }
  if (started.replayed) throw new Error('an evaluation run cannot be replayed')
  const finished = await started.finished
  const observed = {
    output: finished.output ?? '',
    latencyMs: finished.latencyMs ?? 0,
    costMicros: BigInt(finished.costMicros ?? 0),
  }
  const failures =
    finished.status === 'succeeded'
      ? failuresOf(item.assertions, observed)
      : [`The run ${finished.status}: ${finished.error?.detail ?? 'no detail'}`]
  return {
    runId: finished.id,
    passed: failures.length === 0,
    failures,
    output: observed.output,
    latencyMs: finished.latencyMs,
    costMicros: observed.costMicros,
  }
}

/** An evaluation as the API shows it. */
export function evalRunJson(run: EvalRunRow, results: ResultRow[] | null) {
  const done = run.passed + run.failed
  return {
    id: run.id,
    suite_id: run.suite_id,
    agent_id: run.agent_id,
    version: run.agent_version,
    status: run.status,
    total: run.total,
    passed: run.passed,
    failed: run.failed,
    pass_rate: done ? Number((run.passed / done).toFixed(4)) : null,
    error: run.error,
    created_at: new Date(run.created_at).toISOString(),
    finished_at: run.finished_at ? new Date(run.finished_at).toISOString() : null,
    ...(results
      ? {
          results: results.map((result) => ({
            case: result.position + 1,
            input: result.input,
            run_id: result.run_id,
            passed: result.passed,
            failures: result.failures,
            output: result.output,
            latency_ms: result.latency_ms,
            cost_credits: Number(result.cost_micros) / 1_000_000,
          })),
        }
      : {}),
  }
}

/**
 * Ends evaluations whose process stopped (no case recorded for `staleAfterS`) `failed`, and
 * queues again those never taken from the queue. Runs with the periodic recovery.
 */
export async function recoverStaleEvaluations(staleAfterS: number) {
  const { rows: ended } = await db.rawQuery(
    `UPDATE eval_runs SET status = 'failed', finished_at = now(), updated_at = now(),
            error = 'Interrupted: the process running it stopped. Start it again.'
      WHERE status = 'running' AND updated_at < now() - make_interval(secs => ?)
      RETURNING id, tenant_id, suite_id, agent_id, agent_version, passed, failed`,
    [staleAfterS]
  )
  for (const row of ended)
    await EvalRunFinished.dispatch({
      tenantId: row.tenant_id,
      evalRunId: row.id,
      suiteId: row.suite_id,
      agentId: row.agent_id,
      agentVersion: row.agent_version,
      status: 'failed',
      passed: row.passed,
      failed: row.failed,
    })
  const { rows: waiting } = await db.rawQuery(
    `UPDATE eval_runs SET updated_at = now()
      WHERE status = 'queued' AND updated_at < now() - interval '10 minutes'
      RETURNING id, tenant_id`
  )
  for (const row of waiting as Pick<EvalRunRow, 'id' | 'tenant_id'>[])
    await queueEvaluation(row).catch((error) =>
      logger.warn({ err: error, eval_run_id: row.id }, 'queueing an evaluation failed')
    )
  return ended.length + waiting.length
}

/** A suite as the API shows it (with its cases when given). */
export function suiteJson(suite: SuiteRow, cases: CaseRow[] | null) {
  return {
    id: suite.id,
    agent_id: suite.agent_id,
    name: suite.name,
    created_at: new Date(suite.created_at).toISOString(),
    ...(cases
      ? { cases: cases.map((item) => ({ input: item.input, assertions: item.assertions })) }
      : {}),
  }
}

/**
 * Two runs of one suite side by side (a 422 for runs of different suites): per case, each
 * side's verdict, failures, output, latency and cost, and what changed from `a` to `b`.
 */
export async function compareEvalRuns(a: EvalRunRow, b: EvalRunRow) {
  if (a.suite_id !== b.suite_id)
    throw new InvalidInputException('with', 'Compare two runs of the same suite.')
  const [left, right] = [evalRunJson(a, await evalResults(a)), evalRunJson(b, await evalResults(b))]
  const byCase = (results: NonNullable<typeof left.results>) =>
    new Map(results.map((result) => [result.case, result]))
  const [l, r] = [byCase(left.results!), byCase(right.results!)]
  const numbers = [...new Set([...l.keys(), ...r.keys()])].sort((x, y) => x - y)
  const side = ({ results: _results, ...summary }: typeof left) => summary
  return {
    suite_id: a.suite_id,
    a: side(left),
    b: side(right),
    cases: numbers.map((number) => {
      const [x, y] = [l.get(number) ?? null, r.get(number) ?? null]
      const change =
        !x || !y
          ? 'missing'
          : x.passed === y.passed
            ? x.output === y.output
              ? 'same'
              : 'changed_output'
            : y.passed
              ? 'fixed'
              : 'broken'
      return { case: number, input: (x ?? y)!.input, change, a: x, b: y }
    }),
  }
}
