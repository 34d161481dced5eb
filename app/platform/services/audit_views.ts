import { Readable } from 'node:stream'
import type { HttpContext } from '@adonisjs/core/http'
import { DateTime } from 'luxon'
import { csvField, isBoundedDay, isUuid } from '#core'
import {
  AUDIT_CSV_COLUMNS,
  auditEventRows,
  listAuditEvents,
  type AuditFilter,
} from '#platform/services/audit'

const PAGE = 50

/**
 * The audit trail's filters from a query string: `action` (a prefix such as `credits.`),
 * `actor` (a user id), `from`/`to` (days, `to` included). Bad values are ignored and reported.
 */
export function auditFilterOf(ctx: HttpContext, base: AuditFilter = {}) {
  const qs = ctx.request.qs()
  const text = (v: unknown) => (typeof v === 'string' ? v.trim().slice(0, 100) : '')
  const values = {
    action: text(qs.action),
    actor: text(qs.actor),
    from: text(qs.from),
    to: text(qs.to),
  }
  const errors: string[] = []
  const day = (v: string, name: string) => {
    if (!v) return null
    if (!isBoundedDay(v)) return (void errors.push(`${name} must be a day (YYYY-MM-DD)`), null)
    return DateTime.fromISO(v, { zone: 'utc' })
  }
  if (values.actor && !isUuid(values.actor)) errors.push('actor must be a user id')
  const from = day(values.from, 'from')
  const to = day(values.to, 'to')
  const filter: AuditFilter = {
    ...base,
    action: values.action || null,
    actorId: isUuid(values.actor) ? values.actor : null,
    from: from?.toJSDate() ?? null,
    to: to?.plus({ days: 1 }).toJSDate() ?? null,
  }
  return { filter, values, errors }
}

/** One page of the trail for the shared audit component (`platform::components/audit_events`). */
export async function auditPageProps(
  ctx: HttpContext,
  base: AuditFilter,
  urls: { page: string; csv: string }
) {
  const { filter, values, errors } = auditFilterOf(ctx, base)
  const before = Number(ctx.request.input('before')) || null
  const { rows, nextBefore } = await listAuditEvents(filter, { limit: PAGE, before })
  const query = new URLSearchParams(Object.entries(values).filter(([, v]) => v))
  const withQuery = (url: string, extra: Record<string, string> = {}) => {
    const params = new URLSearchParams(query)
    for (const [k, v] of Object.entries(extra)) params.set(k, v)
    const text = params.toString()
    return text ? `${url}?${text}` : url
  }
  return {
    events: rows.map((row: any) => ({
      id: row.id,
      at: new Date(row.occurred_at).toISOString().slice(0, 19).replace('T', ' '),
      action: row.action,
      actor: row.actor_label ?? row.actor_id ?? '—',
      impersonator: row.impersonator_id,
      subject: row.subject_type ? `${row.subject_type} ${row.subject_id ?? ''}` : '',
      changes: row.changes ? JSON.stringify(row.changes) : '',
      ip: row.ip ?? '',
      tenantId: row.tenant_id,
    })),
    values,
    errors,
    actionUrl: urls.page,
    csvUrl: withQuery(urls.csv),
    nextUrl: nextBefore ? withQuery(urls.page, { before: String(nextBefore) }) : null,
  }
}

/** The filtered trail as a CSV download, streamed in pages (bounded memory). */
export function sendAuditCsv(ctx: HttpContext, base: AuditFilter, name: string) {
  const { filter } = auditFilterOf(ctx, base)
  async function* lines() {
    yield AUDIT_CSV_COLUMNS.join(',') + '\r\n'
    for await (const row of auditEventRows(filter))
      yield (
        AUDIT_CSV_COLUMNS.map((column) => {
          const value = row[column]
          if (value instanceof Date) return csvField(value.toISOString())
          if (value && typeof value === 'object') return csvField(JSON.stringify(value), true)
          return csvField(value, true)
        }).join(',') + '\r\n'
      )
  }
  ctx.response.header('content-type', 'text/csv; charset=utf-8')
  ctx.response.header('content-disposition', `attachment; filename="${name}"`)
  ctx.response.header('cache-control', 'no-store')
  ctx.response.stream(Readable.from(lines()))
}
