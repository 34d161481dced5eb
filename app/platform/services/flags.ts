import cache from '@adonisjs/cache/services/main'
import db from '@adonisjs/lucid/services/db'

/** The flags the app reads, each with what it means when no row says otherwise. */
export const FLAGS = {
  'marketplace.publish': { default: false, description: 'Publishing agents to the marketplace' },
} as const
export type FlagKey = keyof typeof FLAGS
export type FlagScope = 'global' | 'plan' | 'tenant'

type Row = { scope: FlagScope; scope_id: string; enabled: boolean }

const TTL = '30s'

function rowsOf(key: FlagKey): Promise<Row[]> {
  return cache.namespace('flags').getOrSet({
    key,
    ttl: TTL,
    factory: () =>
      db.from('feature_flags').where('key', key).select('scope', 'scope_id', 'enabled'),
  })
}

/**
 * Whether a flag is on for a workspace: its tenant row, else its plan's row, else the global
 * row, else the flag's default. The one place flags are evaluated; rows are cached 30 s per key
 * (a change through setFlag is seen at once).
 */
export async function flagEnabled(
  key: FlagKey,
  subject: { tenantId?: string | null; planId?: string | null } = {}
) {
  const rows = await rowsOf(key)
  const find = (scope: FlagScope, id: string | null | undefined) =>
    id === null || id === undefined
      ? undefined
      : rows.find((row) => row.scope === scope && row.scope_id === (scope === 'global' ? '' : id))
  const row = find('tenant', subject.tenantId) ?? find('plan', subject.planId) ?? find('global', '')
  return row ? row.enabled : FLAGS[key].default
}

/** Switches a flag for a scope (`null` removes the row: the next scope up decides). */
export async function setFlag(
  key: FlagKey,
  scope: FlagScope,
  scopeId: string | null,
  enabled: boolean | null
) {
  const id = scope === 'global' ? '' : (scopeId ?? '')
  if (scope !== 'global' && !id) throw new Error(`a ${scope} flag needs the ${scope}'s id`)
  if (enabled === null) await db.from('feature_flags').where({ key, scope, scope_id: id }).delete()
  else
    await db
      .table('feature_flags')
      .insert({ key, scope, scope_id: id, enabled, updated_at: new Date() })
      .onConflict(['key', 'scope', 'scope_id'])
      .merge(['enabled', 'updated_at'])
  await cache.namespace('flags').delete({ key })
}
