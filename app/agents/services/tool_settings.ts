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

/**
 * What a built-in tool needs to know about the run's workspace: only current_time reads the time
 * zone and only http_request the allow-list (a calculator call costs no query).
 */
export async function toolContextOf(
  tenantId: string,
  signal: AbortSignal,
  tool: string
): Promise<ToolContext> {
  const timeZone = tool === 'current_time' ? await tenantTimeZone(tenantId) : null
  const hosts = tool === 'http_request' ? await allowedHosts(tenantId) : []
  return { tenantId, timeZone: timeZone ?? 'UTC', allowedHosts: hosts, signal }
}
