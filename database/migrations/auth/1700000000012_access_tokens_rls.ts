import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE, disableTenantRls, enableTenantRls } from '#database/rls'

/**
 * API tokens bound to a workspace join row-level security (the token lookup of a request runs
 * before any tenant is known, as the owner role). The app role never reads a token's hash.
 */
export default class extends BaseSchema {
  async up() {
    for (const sql of enableTenantRls('auth_access_tokens')) this.schema.raw(sql)
    this.schema.raw(`REVOKE SELECT ON auth_access_tokens FROM ${APP_ROLE}`)
    this.schema.raw(`GRANT SELECT (id, tokenable_id, tenant_id, type, name, abilities, created_at,
      updated_at, last_used_at, expires_at) ON auth_access_tokens TO ${APP_ROLE}`)
    this.schema.raw(`GRANT USAGE ON SEQUENCE auth_access_tokens_id_seq TO ${APP_ROLE}`)
  }

  async down() {
    this.schema.raw(`REVOKE ALL ON auth_access_tokens FROM ${APP_ROLE}`)
    this.schema.raw(`REVOKE USAGE ON SEQUENCE auth_access_tokens_id_seq FROM ${APP_ROLE}`)
    for (const sql of disableTenantRls('auth_access_tokens')) this.schema.raw(sql)
  }
}
