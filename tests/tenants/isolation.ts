/*
 * The isolation matrix's vocabulary (tests/tenants/functional/isolation_matrix.spec.ts).
 *
 * Every route whose pattern has a parameter besides `:tenant` needs a fixture that creates
 * tenant B's object of that kind, or an exclusion with a reason. Fixtures live in
 * `tests/<module>/isolation_fixtures.ts` (any module; the matrix loads them all), exporting
 * `fixtures: IsolationFixture[]` and optionally `exclusions: IsolationExclusion[]`.
 */
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import type { User } from '#auth'
import type { Tenant } from '#tenants'

/** One tenant of the matrix: its owner (signed in, with an all-abilities API token) and a member. */
export type Side = { tenant: Tenant; owner: User; member: User; token: string }

export type IsolationWorld = { a: Side; b: Side; client: ApiClient }

export type IsolationFixture = {
  /** Route patterns (exactly as registered, e.g. `/t/:tenant/members/:id`) this fixture serves. */
  routes: string[]
  /**
   * Creates B's object(s) and returns the parameters (besides `:tenant`) pointing at them; an
   * array tries every variant (e.g. an id and a slug for `:idOrSlug`).
   */
  params(world: IsolationWorld): Promise<Record<string, string> | Record<string, string>[]>
  /** A body that would be valid for A's own object, so validation cannot answer before the lookup. */
  body?: Record<string, unknown>
}

export type IsolationExclusion = { route: string; reason: string }

/** Tables with one of these columns hold rows of a tenant or of its users. */
const TENANT_COLUMNS = ['tenant_id']
const USER_COLUMNS = ['user_id', 'tokenable_id']

/**
 * Everything that belongs to tenant B (rows with its tenant_id, the tenant row) or to B's users
 * (their rows and the rows keyed by their id), as sorted JSON: two equal snapshots mean no change.
 */
export async function snapshotOf(side: Side) {
  const userIds = [side.owner.id, side.member.id]
  const columns: { table_name: string; column_name: string }[] = (
    await db.rawQuery(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = current_schema() AND column_name = ANY(?) ORDER BY table_name, column_name`,
      [[...TENANT_COLUMNS, ...USER_COLUMNS]]
    )
  ).rows
  const parts: Record<string, unknown[]> = {
    tenants: await db.from('tenants').where('id', side.tenant.id),
    users: await db.from('users').whereIn('id', userIds).orderBy('id'),
  }
  for (const { table_name: table, column_name: column } of columns) {
    const query = db.from(table)
    if (TENANT_COLUMNS.includes(column)) query.where(column, side.tenant.id)
    else query.whereIn(column, userIds)
    const rows = await query
    parts[`${table}.${column}`] = rows.map((row) => JSON.stringify(row)).sort()
  }
  return JSON.stringify(parts)
}

/** Replaces `:name` (and `:name?`) in a pattern; throws when a parameter has no value. */
export function fillPattern(pattern: string, values: Record<string, string>) {
  return pattern.replace(/:([A-Za-z_][\w]*)\??/g, (_, name) => {
    if (values[name] === undefined) throw new Error(`no value for :${name} in ${pattern}`)
    return encodeURIComponent(values[name])
  })
}

/** Parameter names of a pattern, `:tenant` included. */
export function paramsOf(pattern: string) {
  return [...pattern.matchAll(/:([A-Za-z_][\w]*)\??/g)].map((match) => match[1])
}
