import type { HttpContext } from '@adonisjs/core/http'
import { DateTime } from 'luxon'
import { urlFor } from '#core'
import { auditPageProps, sendAuditCsv } from '#platform'
import { authorize, currentTenant } from '#tenants/services/tenancy'

/** /t/:tenant/audit: the workspace's own audit trail for its owners and admins, with a CSV export. */
export default class AuditController {
  async index(ctx: HttpContext) {
    authorize(ctx, 'audit.read')
    const { tenant } = currentTenant(ctx)
    const audit = await auditPageProps(
      ctx,
      { tenantId: tenant.id },
      {
        page: urlFor('tenants.audit.index', { tenant: tenant.slug }),
        csv: urlFor('tenants.audit_exports.show', { tenant: tenant.slug }),
      }
    )
    return ctx.view.render('tenants::pages/audit', { audit })
  }

  async export(ctx: HttpContext) {
    authorize(ctx, 'audit.read')
    const { tenant } = currentTenant(ctx)
    sendAuditCsv(
      ctx,
      { tenantId: tenant.id },
      `audit-${tenant.slug}-${DateTime.utc().toFormat('yyyyLLdd')}.csv`
    )
  }
}
