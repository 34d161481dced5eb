import type { HttpContext } from '@adonisjs/core/http'
import { recordAudit } from '#platform'
import type { User } from '#auth'
import { onRefusal, urlFor } from '#core'
import { createTenant } from '#tenants/actions/create_tenant'
import { createTenantValidator, updateTenantValidator } from '#tenants/validators/tenants'
import {
  assertWritable,
  authorize,
  currentTenant,
  tenantsOf,
  withTenant,
} from '#tenants/services/tenancy'
import Membership from '#tenants/models/membership'
import { DELETION_GRACE_DAYS } from '#tenants/models/tenant'
import { roleAllows } from '#tenants/roles'
import { loadHomePanels } from '#tenants/services/home_panels'
import { claimProblem } from '#tenants/actions/domains'
import {
  domainClaimExpiresAt,
  domainState,
  txtRecordName,
  txtRecordValue,
} from '#tenants/services/domains'

/** Workspaces: create, the workspace home, settings. */
export default class TenantsController {
  /** /home: the first workspace of the signed-in user, or the form to create one. */
  async home({ auth, response }: HttpContext) {
    const [first] = await tenantsOf((auth.user as User).id)
    return response.redirect(
      first
        ? urlFor('tenants.tenants.show', { tenant: first.slug })
        : urlFor('tenants.tenants.create')
    )
  }

  create({ view }: HttpContext) {
    return view.render('tenants::pages/new')
  }

  async store(ctx: HttpContext) {
    const { request, response, auth, session } = ctx
    onRefusal(ctx, { redirect: urlFor('tenants.tenants.create') })
    const input = await request.validateUsing(createTenantValidator)
    const tenant = await createTenant({
      name: input.name,
      slug: input.slug,
      timeZone: input.timeZone,
      ownerId: (auth.user as User).id,
    })
    session.flash('success', `Workspace "${tenant.name}" created.`)
    return response.redirect(urlFor('tenants.tenants.show', { tenant: tenant.slug }))
  }

  async show(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'tenant.read')
    // A statement per panel (credits, activity) and one here: within the 3 of every page.
    const panels = await loadHomePanels(tenant, membership)
    const members = await Membership.query().where('tenantId', tenant.id).count('* as n').first()
    return ctx.view.render('tenants::pages/home', {
      tenant,
      membership,
      panels,
      memberCount: Number(members?.$extras.n ?? 0),
      canInvite: roleAllows(membership.role, 'members.manage'),
      canManage: roleAllows(membership.role, 'tenant.update'),
    })
  }

  async edit(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'tenant.update')
    // A claim that expired or lost the race shows why instead of a record to publish.
    const problem = await claimProblem(tenant)
    const pending = domainState(tenant) === 'pending' && !problem
    const domain =
      pending && tenant.customDomain && tenant.domainVerificationToken
        ? {
            name: txtRecordName(tenant.customDomain),
            value: txtRecordValue(tenant.domainVerificationToken),
            expiresOn:
              domainClaimExpiresAt(tenant)?.toUTC().toFormat("d LLLL yyyy 'at' HH:mm 'UTC'") ??
              null,
          }
        : null
    const badges = {
      expired: { label: 'Claim expired', variant: 'danger' },
      taken: { label: 'Verified by another workspace', variant: 'danger' },
      changed: { label: 'Not verified yet', variant: 'warning' },
    }
    return ctx.view.render('tenants::pages/settings', {
      timeZones: (Intl as any).supportedValuesOf('timeZone'),
      isOwner: roleAllows(membership.role, 'tenant.delete'),
      txtRecord: domain,
      domainProblem: problem ? { message: problem.message, ...badges[problem.reason] } : null,
      graceDays: DELETION_GRACE_DAYS,
    })
  }

  async update(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'tenant.update')
    assertWritable(ctx)
    const { runRetention, ...input } = await ctx.request.validateUsing(updateTenantValidator)
    const retention =
      runRetention === undefined
        ? tenant.runRetentionDays
        : runRetention === 'forever'
          ? null
          : Number(runRetention)
    const changes = {
      name: [tenant.name, input.name],
      timeZone: [tenant.timeZone, input.timeZone],
      runRetentionDays: [tenant.runRetentionDays, retention],
    }
    await withTenant(tenant.id, async (trx) => {
      await tenant
        .merge({ ...input, runRetentionDays: retention })
        .useTransaction(trx)
        .save()
      await recordAudit(
        {
          action: 'tenants.tenant.updated',
          actorId: membership.userId,
          tenantId: tenant.id,
          subjectType: 'tenant',
          subjectId: tenant.id,
          changes,
        },
        trx
      )
    })
    ctx.session.flash('success', 'Settings saved.')
    return ctx.response.redirect(urlFor('tenants.settings.edit', { tenant: tenant.slug }))
  }
}
