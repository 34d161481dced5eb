import { flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/**
 * tenant:list → one line per tenant, tab-separated: slug, id, plan, status, members, created
 * (ISO), name (last: it may contain spaces). `--json` prints one JSON object per line instead.
 */
export default class TenantList extends OperatorCommand {
  static commandName = 'tenant:list'
  static description = 'List workspaces, one per line (tab-separated, or JSON lines with --json)'
  static options: CommandOptions = { startApp: true }

  @flags.boolean({ description: 'One JSON object per line' })
  declare json?: boolean

  async run() {
    const { default: db } = await import('@adonisjs/lucid/services/db')
    const rows = await db
      .from('tenants')
      .leftJoin('memberships', 'memberships.tenant_id', 'tenants.id')
      .groupBy('tenants.id')
      .select(
        'tenants.id',
        'tenants.slug',
        'tenants.name',
        'tenants.plan_id',
        'tenants.suspended_at',
        'tenants.deletion_requested_at',
        'tenants.created_at',
        'tenants.custom_domain',
        'tenants.domain_verified_at'
      )
      .count('memberships.id as members')
      .orderBy('tenants.slug')
    for (const row of rows) {
      const status = row.suspended_at
        ? 'suspended'
        : row.deletion_requested_at
          ? 'deletion_requested'
          : 'active'
      const created = new Date(row.created_at).toISOString()
      const members = Number(row.members)
      if (this.json) {
        this.output(
          JSON.stringify({
            id: row.id,
            slug: row.slug,
            name: row.name,
            plan: row.plan_id,
            status,
            members,
            custom_domain: row.domain_verified_at ? row.custom_domain : null,
            created_at: created,
          })
        )
      } else {
        this.output(
          [
            row.slug,
            row.id,
            row.plan_id,
            status,
            members,
            created,
            String(row.name).replace(/[\t\n\r]/g, ' '),
          ].join('\t')
        )
      }
    }
    this.notice(`${rows.length} workspace(s)`)
  }
}
