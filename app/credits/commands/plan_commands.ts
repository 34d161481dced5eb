import { args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { DateTime } from 'luxon'
import { formatCredits, OperatorCommand } from '#core'
import { tenantBySlug } from '#credits/commands/helpers'

/** credits:allowance [--at=<ISO time>] → one line per grant: `<tenant-slug> <YYYY-MM> <credits> <entry id>`. */
export class CreditsAllowance extends OperatorCommand {
  static commandName = 'credits:allowance'
  static description = 'Grant every plan allowance due at a time (once per tenant and period)'
  static options: CommandOptions = { startApp: true }

  @flags.string({ description: 'The time to grant for (ISO 8601; default now)' })
  declare at?: string

  async run() {
    const at = this.at ? DateTime.fromISO(this.at, { setZone: true }) : DateTime.now()
    if (!at.isValid) return this.fail(`"${this.at}" is not an ISO 8601 time`)
    const { grantAllowances } = await import('#credits')
    const grants = await grantAllowances(at.toJSDate())
    for (const grant of grants)
      this.output(
        `${grant.tenantSlug} ${grant.period} ${formatCredits(grant.entry.amount)} ${grant.entry.id}`
      )
    this.notice(`${grants.length} allowance${grants.length === 1 ? '' : 's'} granted`)
  }
}

/** plan:set <tenant-slug> <plan-slug> → the tenant's new plan (effective from its next period). */
export class PlanSet extends OperatorCommand {
  static commandName = 'plan:set'
  static description = "Change a tenant's plan from its next period"
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Tenant slug' })
  declare slug: string

  @args.string({ description: 'Plan slug (free, pro, team, business)' })
  declare plan: string

  async run() {
    const tenant = await tenantBySlug(this.slug)
    if (!tenant) return this.fail(`no tenant with slug "${this.slug}"`)
    const { changePlan } = await import('#credits')
    const planId = String(this.plan ?? '')
      .trim()
      .toLowerCase()
    const change = await changePlan({ tenantId: tenant.id, planId, actorLabel: 'cli' })
    this.notice(
      change
        ? `${tenant.slug} moves to ${change.planId} on ${change.effectiveFrom} (nothing prorated)`
        : `${tenant.slug} stays on ${planId}; no change is scheduled`
    )
    this.output(planId)
  }
}
