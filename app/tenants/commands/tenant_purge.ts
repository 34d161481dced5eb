import { flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/**
 * tenant:purge [--dry-run] → deletes the workspaces whose deletion grace period has passed; one
 * line per workspace (`<slug>\t<id>\tpurged|due|failed`). Run it from cron, e.g. hourly. A
 * workspace whose data was never exported is not deleted (`failed`, exit 1) until `tenant:export`
 * has run for it; there is deliberately no override.
 */
export default class TenantPurge extends OperatorCommand {
  static commandName = 'tenant:purge'
  static description = 'Delete workspaces whose deletion grace period (7 days) has passed'
  static options: CommandOptions = { startApp: true }

  @flags.boolean({ description: 'List what would be deleted, delete nothing' })
  declare dryRun?: boolean

  async run() {
    const { purgeDueTenants } = await import('#tenants/actions/lifecycle')
    const outcomes = await purgeDueTenants({ dryRun: Boolean(this.dryRun), actorLabel: 'cli' })
    for (const outcome of outcomes) {
      const state = this.dryRun
        ? 'due'
        : outcome.error
          ? 'failed'
          : outcome.purged
            ? 'purged'
            : 'kept'
      this.output(`${outcome.slug}\t${outcome.id}\t${state}`)
      if (outcome.error) this.notice(`could not purge ${outcome.slug}: ${outcome.error}`)
    }
    const failed = outcomes.filter((outcome) => outcome.error)
    if (failed.length) {
      process.stderr.write(`error: ${failed.length} workspace(s) could not be purged\n`)
      this.exitCode = 1
    } else {
      this.notice(`${outcomes.length} workspace(s) ${this.dryRun ? 'due' : 'processed'}`)
    }
  }
}
