import { args } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/** analytics:rebuild [tenant-slug] → rebuilds rollups from the finished runs' facts; prints a summary. */
export default class AnalyticsRebuild extends OperatorCommand {
  static commandName = 'analytics:rebuild'
  static description = "Rebuild analytics rollups from the runs (one tenant's, or every tenant's)"
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Tenant slug (default: every tenant)', required: false })
  declare slug?: string

  async run() {
    const { Tenant } = await import('#tenants')
    const { rebuildTenant } = await import('#analytics/services/projector')
    const tenants = this.slug
      ? await Tenant.query().where('slug', this.slug)
      : await Tenant.query().orderBy('slug')
    if (this.slug && !tenants.length) return this.fail(`no tenant with slug "${this.slug}"`)
    const started = Date.now()
    const sum = { runs: 0, hourly: 0, daily: 0 }
    for (const tenant of tenants) {
      const counts = await rebuildTenant(tenant.id)
      this.notice(
        `${tenant.slug}: ${counts.runs} runs → ${counts.hourly} hourly, ${counts.daily} daily rows`
      )
      for (const key of ['runs', 'hourly', 'daily'] as const) sum[key] += counts[key]
    }
    this.output(
      `tenants=${tenants.length} runs=${sum.runs} hourly=${sum.hourly} daily=${sum.daily} ` +
        `seconds=${((Date.now() - started) / 1000).toFixed(1)}`
    )
  }
}
