import db from '@adonisjs/lucid/services/db'
import { DateTime } from 'luxon'
import { EXACT_CREATED_AT, isBoundedDay, isUuid, MAX_YEAR, MIN_YEAR, type Cursor } from '#core'
import { RUN_STATUSES, type RunStatus } from '#agents/models/run'
import { findAgent } from '#agents/services/lookup'
import { isErrorType } from '#agents/services/error_types'

/** The runs list's filters, as the page's URL and the CSV export carry them. */
export type RunListFilters = {
  agent: string
  status: string
  /** An error type (ERROR_TYPES): failed runs of that type only. */
  error: string
  member: string
  model: string
  from: string
  to: string
  /** One hour (an ISO instant on the hour), from an hourly chart's bar. */
  hour: string
}

/** A row of the runs list: the columns shown or exported, and the agent's or workflow's name. */
export type RunListRow = {
  id: string
  status: RunStatus
  model: string | null
  member_id: string | null
  input_tokens: number
  output_tokens: number
  cost_micros: string
  latency_ms: number | null
  source: string
  error: string | null
  error_type: string | null
  created_at: Date
  agent_name: string | null
  agent_slug: string
  agent_deleted_at: Date | null
  workflow_name: string | null
  workflow_slug: string
  workflow_deleted_at: Date | null
}

const NOBODY = '00000000-0000-0000-0000-000000000000'

export function runListFilters(qs: Record<string, unknown>): RunListFilters {
  const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '')
  return {
    agent: text(qs.agent),
    status: text(qs.status),
    error: text(qs.error).slice(0, 40),
    member: text(qs.member),
    model: text(qs.model).slice(0, 200),
    from: text(qs.from),
    to: text(qs.to),
    hour: text(qs.hour).slice(0, 40),
  }
}

/**
 * The runs of a tenant matching the filters, newest first, as plain rows of the listed columns
 * (never inputs and outputs) with the agent's or workflow's name: one statement per page. A bad
 * status, error type or date is reported on its field and ignored; an unknown agent or member
 * matches nothing.
 */
export async function runListQuery(
  tenant: { id: string; timeZone: string },
  filters: RunListFilters
) {
  const errors: Record<string, string[]> = {}
  const query = db
    .from('runs')
    .where('runs.tenant_id', tenant.id)
    .leftJoin('agents', 'agents.id', 'runs.agent_id')
    .leftJoin('workflows', 'workflows.id', 'runs.workflow_id')
    .select(
      'runs.id',
      'runs.status',
      'runs.model',
      'runs.member_id',
      'runs.input_tokens',
      'runs.output_tokens',
      'runs.cost_micros',
      'runs.latency_ms',
      'runs.source',
      db.raw(`runs.error->>'message' AS error`),
      'runs.error_type',
      'runs.created_at',
      'agents.name as agent_name',
      'agents.slug as agent_slug',
      'agents.deleted_at as agent_deleted_at',
      'workflows.name as workflow_name',
      'workflows.slug as workflow_slug',
      'workflows.deleted_at as workflow_deleted_at'
    )
  if (filters.agent) {
    const found = await findAgent(tenant.id, filters.agent)
    query.where('runs.agent_id', found?.id ?? NOBODY)
  }
  // Drill-down from analytics: a member (user id) or a model name, kept in the URL.
  if (filters.member)
    query.where('runs.member_id', isUuid(filters.member) ? filters.member : NOBODY)
  if (filters.model) query.where('runs.model', filters.model)
  if (filters.status) {
    if (RUN_STATUSES.includes(filters.status as RunStatus))
      query.where('runs.status', filters.status)
    else errors.status = ['Choose a status from the list.']
  }
  if (filters.error) {
    if (isErrorType(filters.error))
      query.where('runs.status', 'failed').where('runs.error_type', filters.error)
    else errors.error = ['Choose an error type from the list.']
  }
  for (const field of ['from', 'to'] as const) {
    if (!filters[field]) continue
    const day = isBoundedDay(filters[field])
      ? DateTime.fromISO(filters[field], { zone: tenant.timeZone })
      : null
    if (!day?.isValid) {
      errors[field] = [`Enter a date as YYYY-MM-DD, between ${MIN_YEAR} and ${MAX_YEAR}.`]
      continue
    }
    // Whole days in the workspace's time zone; `to` is inclusive.
    if (field === 'from') query.where('runs.created_at', '>=', day.startOf('day').toJSDate())
    else query.where('runs.created_at', '<', day.startOf('day').plus({ days: 1 }).toJSDate())
  }
  if (filters.hour) {
    const hour = DateTime.fromISO(filters.hour, { zone: 'utc' })
    if (
      !hour.isValid ||
      !hour.equals(hour.startOf('hour')) ||
      hour.year < MIN_YEAR ||
      hour.year > MAX_YEAR
    )
      errors.hour = ['Choose an hour from a chart (an ISO time on the hour).']
    else
      query
        .where('runs.created_at', '>=', hour.toJSDate())
        .where('runs.created_at', '<', hour.plus({ hours: 1 }).toJSDate())
  }
  return { query, errors }
}

/**
 * Every matching run, newest first, fetched in keyset pages (an export of any size). Small pages:
 * rows that die before the next scavenge are never promoted, so the old generation stays flat.
 */
export async function* runListRows(
  tenant: { id: string; timeZone: string },
  filters: RunListFilters,
  pageSize = 250
): AsyncGenerator<RunListRow> {
  let cursor: Cursor | null = null
  for (;;) {
    const { query } = await runListQuery(tenant, filters)
    if (cursor)
      query.whereRaw('(runs.created_at, runs.id) < (?::timestamptz, ?::uuid)', [
        cursor.at,
        cursor.id,
      ])
    const rows: (RunListRow & { at: string })[] = await query
      .select(db.raw(`${EXACT_CREATED_AT.replace('created_at', 'runs.created_at')} AS at`))
      .orderBy('runs.created_at', 'desc')
      .orderBy('runs.id', 'desc')
      .limit(pageSize)
    yield* rows
    if (rows.length < pageSize) return
    cursor = { at: rows.at(-1)!.at, id: rows.at(-1)!.id }
  }
}
