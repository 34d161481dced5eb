import db from '@adonisjs/lucid/services/db'
import { keysetRows, type KeysetOptions } from '#core'
import {
  tenantAuditRows,
  tenantIdempotencyRows,
  tenantNotificationRows,
  tenantWebhookDeliveryRows,
  tenantWebhookEndpointRows,
} from '#platform'
import { tenantApiTokenRows, usersAmong } from '#auth'
import type Tenant from '#tenants/models/tenant'
import { forgetTenant } from '#tenants/services/access_cache'

/** Rows of one kind belonging to a tenant, yielded page by page (never all in memory). */
export type ExportSource = (tenantId: string) => AsyncIterable<Record<string, unknown>>

type Section = { source: ExportSource; tables: string[] }

const sections = new Map<string, Section>()

/**
 * Adds a section to the tenant data export. Each module registers its own tables from a file its
 * door imports, choosing the columns: secrets (token hashes, encrypted keys, header values) stay
 * out. `tables` names every table whose rows the section carries (default: the section's name),
 * so a test can hold the export against the tables that carry tenant rows.
 */
export function registerTenantExport(
  name: string,
  source: ExportSource,
  options: { tables?: string[] } = {}
) {
  if (sections.has(name)) throw new Error(`export section "${name}" is already registered`)
  sections.set(name, { source, tables: options.tables ?? [name] })
}

/** The registered sections, in output order, with the tables each one carries. */
export function tenantExportSections() {
  return [...sections].map(([name, { tables }]) => ({ name, tables: [...tables] }))
}

/** Keyset pages over a tenant's rows of one table (`tenant_id` column), by `id` unless told. */
export function tableRows(
  table: string,
  columns: string[],
  options: KeysetOptions = {}
): ExportSource {
  return (tenantId) =>
    keysetRows(() => db.from(table).where('tenant_id', tenantId).select(columns), options)
}

/** Memberships with each member's email and name, read from auth a keyset page at a time. */
async function* membershipRows(tenantId: string) {
  const size = 500
  const rows = keysetRows(
    () =>
      db
        .from('memberships')
        .where('tenant_id', tenantId)
        .select('id', 'user_id', 'role', 'created_at', 'updated_at'),
    { pageSize: size }
  )
  let batch: Record<string, any>[] = []
  for await (const row of rows) {
    batch.push(row)
    if (batch.length < size) continue
    yield* withNames(batch)
    batch = []
  }
  yield* withNames(batch)
}

async function* withNames(batch: Record<string, any>[]) {
  const users = await usersAmong(batch.map((row) => row.user_id))
  const byId = new Map(users.map((user) => [user.id, user]))
  for (const row of batch) {
    const user = byId.get(row.user_id)
    // Deleted since the page was read: the membership went with the user (cascade).
    if (!user) continue
    yield {
      id: row.id,
      user_id: row.user_id,
      email: user.email,
      name: user.name,
      role: row.role,
      created_at: row.created_at,
      updated_at: row.updated_at,
    }
  }
}

registerTenantExport('memberships', membershipRows)
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
    'last_sent_at',
    'created_at',
  ])
)
// Modules below tenants (which may not import it) provide their rows through their doors.
registerTenantExport('api_tokens', tenantApiTokenRows, { tables: ['auth_access_tokens'] })
registerTenantExport('audit_events', tenantAuditRows)
registerTenantExport('notifications', tenantNotificationRows)
registerTenantExport('webhook_endpoints', tenantWebhookEndpointRows)
registerTenantExport('webhook_deliveries', tenantWebhookDeliveryRows)
registerTenantExport('idempotency_keys', tenantIdempotencyRows)

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
      domain_verified_at: tenant.domainVerifiedAt?.toISO() ?? null,
      require_two_factor: tenant.requireTwoFactor,
      suspended_at: tenant.suspendedAt?.toISO() ?? null,
      suspension_reason: tenant.suspensionReason,
      deletion_requested_at: tenant.deletionRequestedAt?.toISO() ?? null,
      created_at: tenant.createdAt.toISO(),
    },
  }
  yield JSON.stringify(head).slice(0, -1)
  for (const [name, { source }] of sections) {
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

/** The export, then the tenant marked exported once the last chunk is out (deletion needs it). */
export async function* completeExport(tenant: Tenant) {
  yield* exportChunks(tenant)
  await markExported(tenant.id)
}

/** Notes that the tenant's data was exported in full now. */
export async function markExported(tenantId: string) {
  await db.from('tenants').where('id', tenantId).update({ last_exported_at: new Date() })
  await forgetTenant(tenantId)
}
