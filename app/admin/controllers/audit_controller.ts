import type { HttpContext } from '@adonisjs/core/http'
import { DateTime } from 'luxon'
import { urlFor } from '#core'
import { auditPageProps, sendAuditCsv } from '#platform'
import { Tenant } from '#tenants'
import { adminLinks } from '#admin/services/nav'

/** The platform-wide filter: a workspace by slug (`tenant`) on top of the shared ones. */
async function tenantFilter(ctx: HttpContext) {
  const slug = String(ctx.request.input('tenant') ?? '')
    .trim()
    .toLowerCase()
  if (!slug) return { tenantId: null, slug }
  const tenant = await Tenant.findBy('slug', slug)
  // An unknown slug matches nothing rather than everything.
  return { tenantId: tenant?.id ?? '00000000-0000-0000-0000-000000000000', slug }
}

/** /admin/audit: the whole audit trail, filterable, exportable as CSV. */
export default class AuditController {
  async index(ctx: HttpContext) {
    const { tenantId, slug } = await tenantFilter(ctx)
    const props = await auditPageProps(
      ctx,
      { tenantId },
      { page: urlFor('admin.audit.index'), csv: urlFor('admin.audit_exports.show') }
    )
    if (slug) {
      props.csvUrl += `${props.csvUrl.includes('?') ? '&' : '?'}tenant=${encodeURIComponent(slug)}`
      if (props.nextUrl) props.nextUrl += `&tenant=${encodeURIComponent(slug)}`
    }
    return ctx.view.render('admin::pages/audit', {
      user: ctx.auth.user,
      links: adminLinks(),
      tenantSlug: slug,
      audit: props,
    })
  }

  async export(ctx: HttpContext) {
    const { tenantId } = await tenantFilter(ctx)
    sendAuditCsv(ctx, { tenantId }, `audit-${DateTime.utc().toFormat('yyyyLLdd')}.csv`)
  }
}
