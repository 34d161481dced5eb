import db from '@adonisjs/lucid/services/db'
import { DateTime } from 'luxon'
import { User } from '#auth'
import { Tenant } from '#tenants'
import { cachedDto } from '#analytics/services/cache'

const DAYS = 30
const WEEKS = 12

export type TenantUsage = {
  slug: string
  name: string
  runs: number
  errors: number
  creditsMicros: string
}
export type ModelErrors = { provider: string; model: string; runs: number; errors: number }
export type PlatformReport = {
  since: string
  bySpend: TenantUsage[]
  byRuns: TenantUsage[]
  providers: { provider: string; runs: number; errors: number }[]
  models: ModelErrors[]
  growth: { week: string; tenants: number; users: number }[]
}

/** Weekly counts of new rows of a table (Monday-based ISO weeks, UTC). */
async function weekly(table: string, since: DateTime) {
  const rows = (
    await db.rawQuery(
      `SELECT to_char(date_trunc('week', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS week, count(*)::int AS n
       FROM ${table} WHERE created_at >= ? GROUP BY 1`,
      [since.toJSDate()]
    )
  ).rows
  return new Map<string, number>(rows.map((row: any) => [row.week, row.n]))
}

/**
 * Across tenants, from the daily rollups of the last 30 days: top tenants by spend and by runs,
 * error rates by provider and model; and growth (new workspaces and users per week).
 */
export function platformReport(): Promise<PlatformReport> {
  const since = DateTime.utc()
    .startOf('day')
    .minus({ days: DAYS - 1 })
  return cachedDto(null, 'platform', { since: since.toISODate() }, async () => {
    // Spend per tenant from the rollups; names and slugs through the tenants' door.
    const top = async (order: 'credits' | 'runs') => {
      const { rows } = await db.rawQuery(
        `SELECT tenant_id, sum(runs)::bigint AS runs, sum(errors)::bigint AS errors,
                sum(credits_micros) AS credits
           FROM usage_daily WHERE day >= ?::date GROUP BY tenant_id
          ORDER BY ${order} DESC, tenant_id LIMIT 10`,
        [since.toISODate()]
      )
      const ids = rows.map((r: any) => r.tenant_id as string)
      const tenants = ids.length
        ? await Tenant.query().whereIn('id', ids).select('id', 'slug', 'name')
        : []
      const byId = new Map(tenants.map((tenant) => [tenant.id, tenant]))
      return rows
        .filter((r: any) => byId.has(r.tenant_id))
        .map((r: any) => ({
          ...r,
          slug: byId.get(r.tenant_id)!.slug,
          name: byId.get(r.tenant_id)!.name,
        }))
        .sort(
          (a: any, b: any) =>
            Number(b[order]) - Number(a[order]) || (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0)
        )
    }
    const tenantRows = (rows: any[]) =>
      rows.map((r: any) => ({
        slug: r.slug,
        name: r.name,
        runs: Number(r.runs),
        errors: Number(r.errors),
        creditsMicros: String(r.credits),
      }))
    const [bySpend, byRuns, models] = await Promise.all([
      top('credits'),
      top('runs'),
      db.rawQuery(
        `SELECT coalesce(p.slug, 'unknown') AS provider, coalesce(u.model, 'none') AS model,
                sum(u.runs)::bigint AS runs, sum(u.errors)::bigint AS errors
         FROM usage_daily u
         -- The model as that workspace saw it: its own model of that name, else the platform's
         -- (two workspaces may name their models alike: a join on the name alone counted twice).
         LEFT JOIN LATERAL (
           SELECT m.provider_id FROM models m
           WHERE m.name = u.model AND (m.tenant_id = u.tenant_id OR m.tenant_id IS NULL)
           ORDER BY m.tenant_id NULLS LAST LIMIT 1
         ) m ON true
         LEFT JOIN providers p ON p.id = m.provider_id
         WHERE u.day >= ?::date GROUP BY 1, 2 ORDER BY 1, 2`,
        [since.toISODate()]
      ),
    ])
    const modelRows: ModelErrors[] = models.rows.map((r: any) => ({
      provider: r.provider,
      model: r.model,
      runs: Number(r.runs),
      errors: Number(r.errors),
    }))
    const providers = new Map<string, { provider: string; runs: number; errors: number }>()
    for (const row of modelRows) {
      const sum = providers.get(row.provider) ?? { provider: row.provider, runs: 0, errors: 0 }
      sum.runs += row.runs
      sum.errors += row.errors
      providers.set(row.provider, sum)
    }
    const firstWeek = DateTime.utc()
      .startOf('week')
      .minus({ weeks: WEEKS - 1 })
    const [tenants, users] = await Promise.all([
      weekly(Tenant.table, firstWeek),
      weekly(User.table, firstWeek),
    ])
    const growth = Array.from({ length: WEEKS }, (_, i) => {
      const week = firstWeek.plus({ weeks: i }).toISODate()!
      return { week, tenants: tenants.get(week) ?? 0, users: users.get(week) ?? 0 }
    })
    return {
      since: since.toISODate()!,
      bySpend: tenantRows(bySpend),
      byRuns: tenantRows(byRuns),
      providers: [...providers.values()],
      models: modelRows,
      growth,
    }
  })
}
