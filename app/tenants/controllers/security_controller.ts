import type { HttpContext } from '@adonisjs/core/http'
import { urlFor } from '#core'
import { recordAudit } from '#platform'
import { userHasTwoFactor, type User } from '#auth'
import { securityValidator } from '#tenants/validators/tenants'
import { assertWritable, authorize, currentTenant } from '#tenants/services/tenancy'

/** PUT /t/:tenant/security: owners require (or stop requiring) two-factor for every member. */
export default class SecurityController {
  async update(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'tenant.security')
    assertWritable(ctx)
    const required = Boolean(
      (await ctx.request.validateUsing(securityValidator)).require_two_factor
    )
    // Requiring it without having it would lock the owner out on the next page.
    if (required && !userHasTwoFactor(ctx.auth.user as User)) {
      ctx.session.flash(
        'error',
        'Turn on two-factor authentication for your own account first (Account → Two-factor).'
      )
      return ctx.response.redirect(
        `${urlFor('tenants.settings.edit', { tenant: tenant.slug })}#security`
      )
    }
    if (tenant.requireTwoFactor !== required) {
      tenant.requireTwoFactor = required
      await tenant.save()
      await recordAudit({
        action: 'tenants.tenant.two_factor_requirement_changed',
        actorId: membership.userId,
        tenantId: tenant.id,
        subjectType: 'tenant',
        subjectId: tenant.id,
        changes: { require_two_factor: [!required, required] },
      })
    }
    ctx.session.flash(
      'success',
      required
        ? 'Members now need two-factor authentication to enter this workspace.'
        : 'Two-factor authentication is no longer required.'
    )
    return ctx.response.redirect(
      `${urlFor('tenants.settings.edit', { tenant: tenant.slug })}#security`
    )
  }
}
