import db from '@adonisjs/lucid/services/db'

const TTL_MS = 60_000
const zones = new Map<string, { zone: string; until: number }>()

/**
 * A tenant's IANA time zone for readers that bucket by local day (analytics), cached in the
 * process for a minute: a zone change reaches them within that. Null when the tenant does not
 * exist; `fresh` skips the cache (e.g. to confirm a tenant still exists).
 */
export async function tenantTimeZone(
  tenantId: string,
  options: { fresh?: boolean } = {}
): Promise<string | null> {
  const cached = zones.get(tenantId)
  if (cached && !options.fresh && cached.until > Date.now()) return cached.zone
  const row = await db.from('tenants').where('id', tenantId).select('time_zone').first()
  if (!row) {
    zones.delete(tenantId)
    return null
  }
  // Bounded: a process that saw very many tenants starts over rather than growing.
  if (zones.size >= 50_000) zones.clear()
  zones.set(tenantId, { zone: row.time_zone, until: Date.now() + TTL_MS })
  return row.time_zone
}
