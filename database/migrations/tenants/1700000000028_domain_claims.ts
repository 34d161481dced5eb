import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE } from '#database/rls'

/**
 * A custom domain is reserved only once verified: a pending claim no longer blocks other
 * workspaces from claiming the same domain (anyone could otherwise squat a domain they do not
 * own), and it expires (`domain_claimed_at` + DOMAIN_CLAIM_TTL_DAYS). Verifying one claim drops
 * the other pending claims of the domain.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.alterTable('tenants', (table) => {
      table.timestamp('domain_claimed_at', { useTz: true }).nullable()
    })
    // Claims made before this migration get a full period from now.
    this.schema.raw(`UPDATE tenants SET domain_claimed_at = now() WHERE custom_domain IS NOT NULL`)
    this.schema.raw(`ALTER TABLE tenants DROP CONSTRAINT tenants_custom_domain_unique`)
    this.schema.raw(
      `CREATE UNIQUE INDEX tenants_verified_domain_unique ON tenants (custom_domain)
       WHERE domain_verified_at IS NOT NULL`
    )
    this.schema.raw(
      `CREATE INDEX tenants_pending_domain_index ON tenants (custom_domain)
       WHERE custom_domain IS NOT NULL AND domain_verified_at IS NULL`
    )
    // A yes/no about other workspaces' rows, answerable inside a tenant-bound transaction too
    // (the settings page), where the app role sees only its own tenant row.
    this.schema.raw(`CREATE FUNCTION tenant_domain_verified_elsewhere(domain text, tenant uuid)
      RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
      AS $$ SELECT EXISTS (SELECT 1 FROM tenants t WHERE t.custom_domain = domain
        AND t.domain_verified_at IS NOT NULL AND t.id <> tenant) $$`)
    this.schema.raw(
      `REVOKE ALL ON FUNCTION tenant_domain_verified_elsewhere(text, uuid) FROM PUBLIC`
    )
    this.schema.raw(
      `GRANT EXECUTE ON FUNCTION tenant_domain_verified_elsewhere(text, uuid) TO ${APP_ROLE}`
    )
  }

  async down() {
    this.schema.raw(`DROP FUNCTION IF EXISTS tenant_domain_verified_elsewhere(text, uuid)`)
    // The full unique constraint returns: pending claims sharing a domain give way.
    this.schema.raw(
      `UPDATE tenants SET custom_domain = NULL, domain_verification_token = NULL
       WHERE domain_verified_at IS NULL AND custom_domain IN (
         SELECT custom_domain FROM tenants WHERE custom_domain IS NOT NULL
         GROUP BY custom_domain HAVING count(*) > 1)`
    )
    this.schema.raw(`DROP INDEX tenants_pending_domain_index`)
    this.schema.raw(`DROP INDEX tenants_verified_domain_unique`)
    this.schema.raw(
      `ALTER TABLE tenants ADD CONSTRAINT tenants_custom_domain_unique UNIQUE (custom_domain)`
    )
    this.schema.alterTable('tenants', (table) => table.dropColumn('domain_claimed_at'))
  }
}
