import db from '@adonisjs/lucid/services/db'
import type Tenant from '#tenants/models/tenant'

/** Rows of one kind belonging to a tenant, yielded page by page (never all in memory). */
export type ExportSource = (tenantId: string) => AsyncIterable<Record<string, unknown>>

const sources = new Map<string, ExportSource>()

/**
 * Adds a section to the tenant data export. Each module registers its own tables, choosing the
 * columns: secrets (token hashes, encrypted keys) stay out.
 */
export function registerTenantExport(name: string, source: ExportSource) {
  if (sources.has(name)) throw new Error(`export section "${name}" is already registered`)
  sources.set(name, source)
}

const PAGE = 500

/** Keyset pages over a tenant's rows of one table, by id. */
export function tableRows(table: string, columns: string[]): ExportSource {
  return async function* (tenantId) {
    let after: string | null = null
    for (;;) {
      const query = db
        .from(table)
        .where('tenant_id', tenantId)
        .select(columns)
        .orderBy('id')
        .limit(PAGE)
      if (after !== null) query.where('id', '>', after)
      const rows: Record<string, unknown>[] = await query
      yield* rows
      if (rows.length < PAGE) return
      after = String(rows.at(-1)!.id)
    }
  }
}

registerTenantExport('memberships', async function* (tenantId) {
  const rows = await db
    .from('memberships')
    .join('users', 'users.id', 'memberships.user_id')
    .where('memberships.tenant_id', tenantId)
    .select(
      'memberships.id',
      'memberships.user_id',
      'users.email',
      'users.name',
      'memberships.role',
      'memberships.created_at'
    )
    .orderBy('memberships.created_at')
  yield* rows
})
registerTenantExport(
  'invitations',
  tableRows('invitations', [
    'id',
    'email',
    'role',
    'invited_by',
    'expires_at',
    'accepted_at',
    'accepted_by',
    'revoked_at',
    'created_at',
  ])
)

/**
 * The export as JSON text chunks: `{format, exported_at, tenant, <section>: [rows…], …}`, one
 * row per chunk so a large tenant streams in constant memory.
 */
export async function* exportChunks(tenant: Tenant) {
  const head = {
    format: 'agora.tenant-export',
    version: 1,
    exported_at: new Date().toISOString(),
    tenant: {
      id: tenant.id,
      slug: tenant.slug,
      name: tenant.name,
      plan_id: tenant.planId,
      time_zone: tenant.timeZone,
      custom_domain: tenant.customDomain,
      require_two_factor: tenant.requireTwoFactor,
      created_at: tenant.createdAt.toISO(),
    },
  }
  yield JSON.stringify(head).slice(0, -1)
  for (const [name, source] of sources) {
    yield `,${JSON.stringify(name)}:[`
    let first = true
    for await (const row of source(tenant.id)) {
      yield (first ? '' : ',') + JSON.stringify(row)
      first = false
    }
    yield ']'
  }
  yield '}\n'
}
