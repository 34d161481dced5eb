import { args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'
import { creditsArgument, tenantBySlug } from '#credits/commands/helpers'

/** credits:grant <tenant-slug> <credits> --reason= [--idempotency-key=] → the ledger entry id. */
export default class CreditsGrant extends OperatorCommand {
  static commandName = 'credits:grant'
  static description = 'Grant credits to a tenant (prints the ledger entry id)'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Tenant slug' })
  declare slug: string

  @args.string({ description: 'Credits, e.g. 25 or 0.5' })
  declare credits: string

  @flags.string({ description: 'Why (kept in the ledger and the audit trail)', required: true })
  declare reason: string

  @flags.string({ description: 'Repeating the command with the same key grants once' })
  declare idempotencyKey?: string

  async run() {
    const amount = creditsArgument(this.credits, { signed: false })
    if ('reason' in amount) return this.fail(amount.reason)
    const tenant = await tenantBySlug(this.slug)
    if (!tenant) return this.fail(`no tenant with slug "${this.slug}"`)
    const { grant } = await import('#credits')
    const { entry, replayed } = await grant({
      tenantId: tenant.id,
      amount: amount.micros,
      reason: this.reason,
      idempotencyKey: this.idempotencyKey,
      actorLabel: 'cli',
    })
    this.notice(
      replayed
        ? 'already granted with this idempotency key'
        : `granted ${this.credits.trim()} credits to ${tenant.slug}`
    )
    this.output(entry.id)
  }
}
