import { Readable } from 'node:stream'
import type { HttpContext } from '@adonisjs/core/http'
import { recordAudit } from '#platform'
import { completeExport } from '#tenants/services/export'
import { authorize, currentTenant } from '#tenants/services/tenancy'

/**
 * GET /t/:tenant/export.json: the workspace's data as one JSON document, streamed (owners). A
 * download that runs to its end marks the workspace exported, which deletion requires.
 */
export default class ExportsController {
  async show(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'tenant.export')
    // Recorded in the audit trail (who took a copy of the data), which is a log, not tenant state.
    await recordAudit({
      action: 'tenants.tenant.exported',
      actorId: membership.userId,
      tenantId: tenant.id,
      subjectType: 'tenant',
      subjectId: tenant.id,
    })
    const day = new Date().toISOString().slice(0, 10)
    ctx.response.header('content-type', 'application/json; charset=utf-8')
    ctx.response.header(
      'content-disposition',
      `attachment; filename="${tenant.slug}-export-${day}.json"`
    )
    ctx.response.header('cache-control', 'no-store')
    ctx.response.stream(Readable.from(completeExport(tenant)))
  }
}
