/**
 * Row-level security for tenant-owned tables (defence in depth behind app-level scoping).
 * Policies compare `tenant_id` with the transaction-local `app.tenant_id`; they bind the
 * `agora_app` role, which the app assumes with `SET LOCAL ROLE` inside tenant transactions
 * (see withTenant in app/tenants). With no tenant set the cast fails: the query fails closed.
 * Not FORCEd: the owning role (migrations, operators; on managed PostgreSQL not a superuser)
 * must keep seeing every row.
 */
export const APP_ROLE = 'agora_app'

/** Creates the app role when missing (roles are cluster-wide; whichever module migrates first). */
export function ensureAppRole() {
  return `DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
      CREATE ROLE ${APP_ROLE} NOLOGIN NOBYPASSRLS;
    END IF;
  END $$`
}

export function enableTenantRls(table: string) {
  return [
    `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
    `CREATE POLICY ${table}_tenant_isolation ON ${table} TO ${APP_ROLE}
       USING (tenant_id = current_setting('app.tenant_id')::uuid)
       WITH CHECK (tenant_id = current_setting('app.tenant_id')::uuid)`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO ${APP_ROLE}`,
  ]
}

export function disableTenantRls(table: string) {
  return [
    `DROP POLICY IF EXISTS ${table}_tenant_isolation ON ${table}`,
    `ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY`,
  ]
}
