import db from '@adonisjs/lucid/services/db'
import { DateTime } from 'luxon'
import { providersOfModels } from '#agents'
import { usersCreatedPerWeek } from '#auth'
import { Tenant, tenantsCreatedPerWeek } from '#tenants'
import { cachedDto } from '#analytics/services/cache'
import { splitRange } from '#analytics/services/rollups'

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

/**
 * Runs and errors per workspace and model since `fromDay` (local days, up to tomorrow for
 * workspaces ahead of UTC): whole months, then whole weeks, then days, from the indexes alone.
 */
function modelsSince(fromDay: string) {
  const { months, weeks, days } = splitRange(fromDay, DateTime.utc().plus({ days: 1 }).toISODate()!)
  const columns = `tenant_id, key AS model, runs, errors`
  const parts = days.map(
    () =>
      `SELECT ${columns} FROM usage_dims_daily WHERE dim = 'model' AND day >= ?::date AND day <= ?::date`
  )
  const bindings: unknown[] = days.flat()
  for (const [table, period, keys] of [
    ['usage_dims_weekly', 'week', weeks],
    ['usage_dims_monthly', 'month', months],
  ] as const) {
    if (!keys.length) continue
    parts.push(`SELECT ${columns} FROM ${table} WHERE dim = 'model' AND ${period} = ANY(?::date[])`)
    bindings.push(keys)
  }
  return db.rawQuery(
    `SELECT tenant_id, model, sum(runs)::bigint AS runs, sum(errors)::bigint AS errors
     FROM (${parts.join(' UNION ALL ')}) u GROUP BY 1, 2`,
    bindings
  )
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
    // Spend and runs per tenant from the day totals, summed once for both tops; names and slugs
    // through the tenants' door.
    const perTenant = async () => {
      const { rows } = await db.rawQuery(
        `SELECT tenant_id, sum(runs)::bigint AS runs, sum(errors)::bigint AS errors,
                sum(credits_micros) AS credits
           FROM usage_days WHERE day >= ?::date GROUP BY tenant_id`,
        [since.toISODate()]
      )
      type Keyed = { r: any; credits: bigint; runs: bigint }
      const keyed: Keyed[] = rows.map((r: any) => ({
        r,
        credits: BigInt(r.credits),
        runs: BigInt(r.runs),
      }))
      const top = (order: 'credits' | 'runs') =>
        keyed
          .sort(
            (a: Keyed, b: Keyed) =>
              (b[order] > a[order] ? 1 : b[order] < a[order] ? -1 : 0) ||
              (a.r.tenant_id < b.r.tenant_id ? -1 : 1)
          )
          .slice(0, 10)
          .map((k: Keyed) => k.r)
      const [bySpend, byRuns] = [top('credits'), top('runs')]
      const ids = [...new Set([...bySpend, ...byRuns].map((r: any) => r.tenant_id as string))]
      const tenants = ids.length
        ? await Tenant.query().whereIn('id', ids).select('id', 'slug', 'name')
        : []
      const byId = new Map(tenants.map((tenant) => [tenant.id, tenant]))
      const named = (list: any[], order: 'credits' | 'runs') =>
        list
          .filter((r: any) => byId.has(r.tenant_id))
          .map((r: any) => ({
            ...r,
            slug: byId.get(r.tenant_id)!.slug,
            name: byId.get(r.tenant_id)!.name,
          }))
          .sort(
            (a: any, b: any) =>
              Number(BigInt(b[order]) - BigInt(a[order])) ||
              (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0)
          )
      return [named(bySpend, 'credits'), named(byRuns, 'runs')]
    }
    const tenantRows = (rows: any[]) =>
      rows.map((r: any) => ({
        slug: r.slug,
        name: r.name,
        runs: Number(r.runs),
        errors: Number(r.errors),
        creditsMicros: String(r.credits),
      }))
    const [[bySpend, byRuns], models] = await Promise.all([
      perTenant(),
      modelsSince(since.toISODate()!),
    ])
    // Each workspace's model under the provider that workspace saw (the agents' door: two
    // workspaces may name their models alike), summed per provider and model.
    const named = await providersOfModels(
      models.rows
        .filter((r: any) => r.model !== null)
        .map((r: any) => ({ tenantId: r.tenant_id, model: r.model }))
    )
    const byModel = new Map<string, ModelErrors>()
    for (const r of models.rows) {
      const provider = (r.model !== null && named.get(`${r.tenant_id}:${r.model}`)) || 'unknown'
      const model = r.model ?? 'none'
      const key = `${provider}\u0000${model}`
      const sum = byModel.get(key) ?? { provider, model, runs: 0, errors: 0 }
      sum.runs += Number(r.runs)
      sum.errors += Number(r.errors)
      byModel.set(key, sum)
    }
    const modelRows = [...byModel.values()].sort(
      (a, b) => a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model)
    )
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
      tenantsCreatedPerWeek(firstWeek.toJSDate()),
      usersCreatedPerWeek(firstWeek.toJSDate()),
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
