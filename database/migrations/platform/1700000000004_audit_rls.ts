import { BaseSchema } from '@adonisjs/lucid/schema'
import {
  APP_ROLE,
  CURRENT_TENANT,
  ensureAppRole,
  grantAppRoleToOwner,
  rebindTenantRls,
} from '#database/rls'

/**
 * Audit rows join row-level security: inside a tenant transaction the app role reads and appends
 * only that tenant's events. The chain needs the newest hash of all events, which it reads
 * through `audit_chain_head()` (runs as the owner) instead of seeing other tenants' rows.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(ensureAppRole())
    this.schema.raw(grantAppRoleToOwner())
    this.schema.raw(`ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY`)
    this.schema.raw(`CREATE POLICY audit_events_tenant_read ON audit_events FOR SELECT
      TO ${APP_ROLE} USING (tenant_id = ${CURRENT_TENANT})`)
    this.schema.raw(`CREATE POLICY audit_events_tenant_append ON audit_events FOR INSERT
      TO ${APP_ROLE} WITH CHECK (tenant_id = ${CURRENT_TENANT})`)
    this.schema.raw(`GRANT SELECT, INSERT ON audit_events TO ${APP_ROLE}`)
    this.schema.raw(`GRANT USAGE ON SEQUENCE audit_events_id_seq TO ${APP_ROLE}`)
    this.schema.raw(`CREATE FUNCTION audit_chain_head() RETURNS text
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
      AS $$ SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1 $$`)
    this.schema.raw(`REVOKE ALL ON FUNCTION audit_chain_head() FROM PUBLIC`)
    this.schema.raw(`GRANT EXECUTE ON FUNCTION audit_chain_head() TO ${APP_ROLE}`)
    this.schema.raw(rebindTenantRls('idempotency_keys'))
  }

  async down() {
    this.schema.raw(`DROP FUNCTION IF EXISTS audit_chain_head()`)
    this.schema.raw(`REVOKE ALL ON audit_events FROM ${APP_ROLE}`)
    this.schema.raw(`REVOKE USAGE ON SEQUENCE audit_events_id_seq FROM ${APP_ROLE}`)
    this.schema.raw(`DROP POLICY IF EXISTS audit_events_tenant_read ON audit_events`)
    this.schema.raw(`DROP POLICY IF EXISTS audit_events_tenant_append ON audit_events`)
    this.schema.raw(`ALTER TABLE audit_events DISABLE ROW LEVEL SECURITY`)
  }
}
