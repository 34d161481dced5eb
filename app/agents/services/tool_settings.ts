import db from '@adonisjs/lucid/services/db'
import { tenantTimeZone } from '#tenants'
import type { ToolContext } from '#agents/tools/builtin'

/** A workspace's http_request allow-list (host names, `*.` for subdomains, optional `:port`). */
export async function allowedHosts(tenantId: string): Promise<string[]> {
  const row = await db
    .from('tool_settings')
    .where('tenant_id', tenantId)
    .select('http_allowed_hosts')
    .first()
  return row?.http_allowed_hosts ?? []
}

/** What built-in tools need to know about the run's workspace; read once per run, when a tool runs. */
export async function toolContextOf(tenantId: string, signal: AbortSignal): Promise<ToolContext> {
  const timeZone = await tenantTimeZone(tenantId)
  return {
    tenantId,
    timeZone: timeZone ?? 'UTC',
    allowedHosts: await allowedHosts(tenantId),
    signal,
  }
}
