import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { DomainException } from '#core'
import { purgeTenantPlatformRows, recordAudit } from '#platform'
import { revokeTokensForTenant } from '#auth'
import Tenant, { DELETION_GRACE_DAYS } from '#tenants/models/tenant'
import { withTenant } from '#tenants/services/tenancy'

type Actor = { actorId?: string | null; actorLabel?: string | null }

/**
 * Suspends a tenant (platform admin or `tenant:suspend`): it becomes read-only and runs are
 * refused (assertWritable). Suspending again only updates the reason.
 */
export async function suspendTenant(input: { tenantId: string; reason?: string | null } & Actor) {
  return withTenant(input.tenantId, async (trx) => {
    const tenant = await Tenant.query({ client: trx })
      .where('id', input.tenantId)
      .forUpdate()
      .firstOrFail()
    const reason = input.reason?.trim().slice(0, 500) || null
    const was = tenant.suspendedAt
    tenant.merge({ suspendedAt: was ?? DateTime.now(), suspensionReason: reason })
    await tenant.useTransaction(trx).save()
    await recordAudit(
      {
        action: 'tenants.tenant.suspended',
        actorId: input.actorId,
        actorLabel: input.actorLabel,
        tenantId: tenant.id,
        subjectType: 'tenant',
        subjectId: tenant.id,
        changes: { reason, already_suspended: was !== null },
      },
      trx
    )
    return tenant
  })
}

/** Lifts a suspension; the tenant is writable again. */
export async function liftSuspension(input: { tenantId: string } & Actor) {
  return withTenant(input.tenantId, async (trx) => {
    const tenant = await Tenant.query({ client: trx })
      .where('id', input.tenantId)
      .forUpdate()
      .firstOrFail()
    if (!tenant.suspendedAt) return tenant
    const since = tenant.suspendedAt.toISO()
    tenant.merge({ suspendedAt: null, suspensionReason: null })
    await tenant.useTransaction(trx).save()
    await recordAudit(
      {
        action: 'tenants.tenant.suspension_lifted',
        actorId: input.actorId,
        actorLabel: input.actorLabel,
        tenantId: tenant.id,
        subjectType: 'tenant',
        subjectId: tenant.id,
        changes: { suspended_since: since },
      },
      trx
    )
    return tenant
  })
}

/** Deletion loses nothing: it is refused until the tenant's data has been exported once. */
export class ExportRequiredException extends DomainException {
  constructor(
    message = "Download the workspace's data export first: a workspace is deleted only once its data is exported."
  ) {
    super(message, { status: 409, code: 'E_EXPORT_REQUIRED' })
  }
}

/** Read fresh: the caller's row may predate an export that just finished. */
async function hasExport(tenantId: string) {
  const row = await db.from('tenants').where('id', tenantId).select('last_exported_at').first()
  return Boolean(row?.last_exported_at)
}

/**
 * Schedules deletion: the purge removes the tenant once DELETION_GRACE_DAYS have passed.
 * Refused (ExportRequiredException) until an export exists.
 */
export async function requestDeletion(input: { tenant: Tenant; actorId: string }) {
  if (input.tenant.deletionRequestedAt) return input.tenant
  if (!(await hasExport(input.tenant.id))) throw new ExportRequiredException()
  input.tenant.deletionRequestedAt = DateTime.now()
  await withTenant(input.tenant.id, async (trx) => {
    await input.tenant.useTransaction(trx).save()
    await recordAudit(
      {
        action: 'tenants.tenant.deletion_requested',
        actorId: input.actorId,
        tenantId: input.tenant.id,
        subjectType: 'tenant',
        subjectId: input.tenant.id,
        changes: { due_at: input.tenant.deletionDueAt?.toISO() },
      },
      trx
    )
  })
  return input.tenant
}

export async function cancelDeletion(input: { tenant: Tenant; actorId: string }) {
  if (!input.tenant.deletionRequestedAt) return input.tenant
  input.tenant.deletionRequestedAt = null
  await withTenant(input.tenant.id, async (trx) => {
    await input.tenant.useTransaction(trx).save()
    await recordAudit(
      {
        action: 'tenants.tenant.deletion_cancelled',
        actorId: input.actorId,
        tenantId: input.tenant.id,
        subjectType: 'tenant',
        subjectId: input.tenant.id,
      },
      trx
    )
  })
  return input.tenant
}

export type PurgeOutcome = { id: string; slug: string; purged: boolean; error?: string }

/**
 * Deletes every tenant whose deletion was requested more than DELETION_GRACE_DAYS ago: its
 * members' API tokens for it, then the tenant (its rows go with it through ON DELETE CASCADE).
 * Each tenant in its own transaction, re-checked under a row lock so a late cancel wins.
 */
export async function purgeDueTenants(
  options: { now?: DateTime; dryRun?: boolean; actorLabel?: string } = {}
) {
  const cutoff = (options.now ?? DateTime.now()).minus({ days: DELETION_GRACE_DAYS })
  const due = await Tenant.query()
    .whereNotNull('deletionRequestedAt')
    .where('deletionRequestedAt', '<=', cutoff.toJSDate())
    .orderBy('deletionRequestedAt')
  const outcomes: PurgeOutcome[] = []
  for (const candidate of due) {
    if (options.dryRun) {
      outcomes.push({ id: candidate.id, slug: candidate.slug, purged: false })
      continue
    }
    try {
      const purged = await db.transaction(async (trx) => {
        const tenant = await Tenant.query({ client: trx })
          .where('id', candidate.id)
          .forUpdate()
          .first()
        if (!tenant?.deletionRequestedAt || tenant.deletionRequestedAt > cutoff) return false
        // A deletion requested before exports were required, or set by hand, still needs one.
        if (!tenant.lastExportedAt) {
          throw new ExportRequiredException(
            `no export exists: run \`node ace tenant:export ${tenant.slug} --out <file>\` first`
          )
        }
        const members = await trx
          .from('memberships')
          .where('tenant_id', tenant.id)
          .select('user_id')
        for (const { user_id: userId } of members)
          await revokeTokensForTenant(userId, tenant.id, trx)
        await tenant.useTransaction(trx).delete()
        await purgeTenantPlatformRows(tenant.id, trx)
        await recordAudit(
          {
            action: 'tenants.tenant.purged',
            actorLabel: options.actorLabel ?? 'purge',
            tenantId: tenant.id,
            subjectType: 'tenant',
            subjectId: tenant.id,
            changes: {
              slug: tenant.slug,
              name: tenant.name,
              requested_at: tenant.deletionRequestedAt.toISO(),
            },
          },
          trx
        )
        return true
      })
      outcomes.push({ id: candidate.id, slug: candidate.slug, purged })
    } catch (error) {
      outcomes.push({
        id: candidate.id,
        slug: candidate.slug,
        purged: false,
        error: (error as Error).message,
      })
    }
  }
  return outcomes
}
