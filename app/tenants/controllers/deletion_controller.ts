import type { HttpContext } from '@adonisjs/core/http'
import { onRefusal, urlFor } from '#core'
import { cancelDeletion, requestDeletion } from '#tenants/actions/lifecycle'
import { deletionValidator } from '#tenants/validators/tenants'
import { assertWritable, authorize, currentTenant } from '#tenants/services/tenancy'

/** /t/:tenant/deletion: an owner schedules the workspace's deletion (after a grace period) or cancels it. */
export default class DeletionController {
  async store(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'tenant.delete')
    assertWritable(ctx)
    const { confirm } = await ctx.request.validateUsing(deletionValidator)
    if (confirm !== tenant.slug) {
      ctx.session.flashErrors({
        confirm: [`Type the workspace's slug (${tenant.slug}) to confirm.`],
      })
      return ctx.response.redirect(
        `${urlFor('tenants.settings.edit', { tenant: tenant.slug })}#danger`
      )
    }
    // Refused until the data has been exported: back to the danger zone with the reason.
    onRefusal(ctx, {
      redirect: `${urlFor('tenants.settings.edit', { tenant: tenant.slug })}#danger`,
    })
    await requestDeletion({ tenant, actorId: membership.userId })
    ctx.session.flash(
      'warning',
      `${tenant.name} will be deleted on ` +
        `${tenant.deletionDueAt!.toUTC().toFormat("d LLLL yyyy 'at' HH:mm 'UTC'")}. You can cancel until then.`
    )
    return ctx.response.redirect(
      `${urlFor('tenants.settings.edit', { tenant: tenant.slug })}#danger`
    )
  }

  async destroy(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'tenant.delete')
    await cancelDeletion({ tenant, actorId: membership.userId })
    ctx.session.flash('success', 'Deletion cancelled: the workspace stays.')
    return ctx.response.redirect(
      `${urlFor('tenants.settings.edit', { tenant: tenant.slug })}#danger`
    )
  }
}
