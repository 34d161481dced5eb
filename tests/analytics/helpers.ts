import { randomUUID } from 'node:crypto'
import db from '@adonisjs/lucid/services/db'
import type { RunFacts } from '#agents'
import { projectFacts } from '#analytics'

export type RunShape = {
  agentId?: string | null
  memberId?: string | null
  model?: string | null
  status?: 'succeeded' | 'failed' | 'cancelled' | 'running'
  /** A failed run's error type (default `other`); ignored for other statuses. */
  errorType?: string
  inputTokens?: number
  outputTokens?: number
  costMicros?: number
  latencyMs?: number | null
  createdAt?: string | Date
}

/** The facts RunFinished would carry for a run of this shape (defaults as insertRun's). */
export function runFacts(
  tenantId: string,
  shape: RunShape = {},
  runId: string = randomUUID()
): RunFacts {
  return {
    tenantId,
    runId,
    agentId: shape.agentId ?? null,
    memberId: shape.memberId ?? null,
    model: shape.model === undefined ? 'simulator/echo' : shape.model,
    status: (shape.status ?? 'succeeded') as RunFacts['status'],
    errorType: shape.status === 'failed' ? (shape.errorType ?? 'other') : null,
    inputTokens: shape.inputTokens ?? 10,
    outputTokens: shape.outputTokens ?? 5,
    costMicros: BigInt(shape.costMicros ?? 20),
    latencyMs: shape.latencyMs === undefined ? 100 : shape.latencyMs,
    createdAt: new Date(shape.createdAt ?? Date.now()),
    finishedAt: new Date(),
  }
}

/** Runs inserted directly (no provider, no money) in one statement; returns their facts. */
export async function insertRuns(tenantId: string, shapes: RunShape[]) {
  const facts = shapes.map((shape) => runFacts(tenantId, shape))
  if (!facts.length) return facts
  await db.table('runs').multiInsert(
    facts.map((fact, i) => ({
      id: fact.runId,
      tenant_id: tenantId,
      agent_id: fact.agentId,
      member_id: fact.memberId,
      model: fact.model,
      status: shapes[i].status ?? 'succeeded',
      error_type: fact.errorType,
      input: 'test',
      input_tokens: fact.inputTokens,
      output_tokens: fact.outputTokens,
      cost_micros: fact.costMicros.toString(),
      latency_ms: fact.latencyMs,
      source: 'test',
      created_at: fact.createdAt,
      finished_at: fact.finishedAt,
    }))
  )
  return facts
}

/** A finished run inserted directly (no provider, no money): for rollup arithmetic. */
export async function insertRun(tenantId: string, shape: RunShape = {}) {
  return (await insertRuns(tenantId, [shape]))[0].runId
}

/** A run inserted (so a rebuild sees it) and projected from its facts, as its event would. */
export async function projectedRun(tenantId: string, shape: RunShape = {}) {
  const [facts] = await insertRuns(tenantId, [shape])
  await projectFacts([facts])
  return facts
}

/** Every rollup row of a tenant in a stable order (for equality checks). */
export async function rollupRows(tenantId: string) {
  const order = ['agent_id', 'member_id', 'model']
  const hourly = await db
    .from('usage_hourly')
    .where('tenant_id', tenantId)
    .orderBy(['hour', ...order].map((column) => ({ column, nulls: 'first' as const })))
  const daily = await db.rawQuery(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, agent_id, member_id, model, runs, succeeded, errors, input_tokens, output_tokens, credits_micros, latency_sum_ms, latency_count, latency_hist
     FROM usage_daily WHERE tenant_id = ? ORDER BY day, agent_id NULLS FIRST, member_id NULLS FIRST, model NULLS FIRST`,
    [tenantId]
  )
  const periods = async (table: string, period: string) =>
    (
      await db.rawQuery(
        `SELECT to_char(${period}, 'YYYY-MM-DD') AS ${period}, dim, key, runs, succeeded, errors, input_tokens, output_tokens, credits_micros, latency_sum_ms, latency_count, latency_hist
         FROM ${table} WHERE tenant_id = ? ORDER BY ${period}, dim, key NULLS FIRST`,
        [tenantId]
      )
    ).rows
  const running = await db.rawQuery(
    `SELECT dim, key, to_char(day, 'YYYY-MM-DD') AS day, runs, succeeded, errors, input_tokens, output_tokens, credits_micros, latency_sum_ms, latency_count, latency_hist
     FROM usage_running WHERE tenant_id = ? ORDER BY dim, key, day`,
    [tenantId]
  )
  const days = await db.rawQuery(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, runs, succeeded, errors, input_tokens, output_tokens, credits_micros, latency_sum_ms, latency_count, latency_hist, active_members
     FROM usage_days WHERE tenant_id = ? ORDER BY day`,
    [tenantId]
  )
  const errorsHourly = await db.rawQuery(
    `SELECT to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24') AS hour, error_type, runs
     FROM usage_errors_hourly WHERE tenant_id = ? ORDER BY hour, error_type`,
    [tenantId]
  )
  const errorsDaily = await db.rawQuery(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, error_type, runs
     FROM usage_errors_daily WHERE tenant_id = ? ORDER BY day, error_type`,
    [tenantId]
  )
  return {
    hourly: hourly.map((row) => ({ ...row, hour: new Date(row.hour).toISOString() })),
    daily: daily.rows,
    dimsDaily: await periods('usage_dims_daily', 'day'),
    weekly: await periods('usage_dims_weekly', 'week'),
    monthly: await periods('usage_dims_monthly', 'month'),
    days: days.rows,
    running: running.rows,
    errorsHourly: errorsHourly.rows,
    errorsDaily: errorsDaily.rows,
  }
}
