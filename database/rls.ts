/**
 * Row-level security for tenant-owned tables (defence in depth behind app-level scoping).
 * Policies compare `tenant_id` with the transaction-local `app.tenant_id`; they bind the
 * `agora_app` role, which the app assumes with `SET LOCAL ROLE` inside tenant transactions
 * (see withTenant in app/tenants). With no tenant set the policy sees no rows (fails closed).
 * Not FORCEd: the owning role (migrations, operators; on managed PostgreSQL not a superuser)
 * must keep seeing every row.
 */
export const APP_ROLE = 'agora_app'

/** The bound tenant, or NULL when none is (then `tenant_id = CURRENT_TENANT` matches nothing). */
export const CURRENT_TENANT = `NULLIF(current_setting('app.tenant_id', true), '')::uuid`

/** Creates the app role when missing (roles are cluster-wide; whichever module migrates first). */
export function ensureAppRole() {
  return `DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
      CREATE ROLE ${APP_ROLE} NOLOGIN NOBYPASSRLS;
    END IF;
  END $$`
}

/**
 * Lets the migrating role `SET ROLE agora_app`. A superuser may anyway; on managed PostgreSQL
 * the owner is not one, and since PostgreSQL 16 creating a role no longer grants SET on it.
 */
export function grantAppRoleToOwner() {
  return `GRANT ${APP_ROLE} TO CURRENT_USER`
}

export function enableTenantRls(table: string) {
  return [
    `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
    `CREATE POLICY ${table}_tenant_isolation ON ${table} TO ${APP_ROLE}
       USING (tenant_id = ${CURRENT_TENANT}) WITH CHECK (tenant_id = ${CURRENT_TENANT})`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO ${APP_ROLE}`,
  ]
}

export function disableTenantRls(table: string) {
  return [
    `DROP POLICY IF EXISTS ${table}_tenant_isolation ON ${table}`,
    `ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY`,
  ]
}

/** Rewrites an older policy (a missing tenant was a cast error) to see no rows instead. */
export function rebindTenantRls(table: string) {
  return `ALTER POLICY ${table}_tenant_isolation ON ${table}
    USING (tenant_id = ${CURRENT_TENANT}) WITH CHECK (tenant_id = ${CURRENT_TENANT})`
}
