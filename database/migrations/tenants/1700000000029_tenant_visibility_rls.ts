import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE, CURRENT_TENANT, rebindTenantRls } from '#database/rls'

/**
 * Inside a tenant transaction the app role sees its own tenant row and the users who are its
 * members, nothing of other workspaces; memberships and invitations see no rows without a tenant.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`ALTER TABLE tenants ENABLE ROW LEVEL SECURITY`)
    this.schema.raw(`CREATE POLICY tenants_own_row ON tenants FOR SELECT TO ${APP_ROLE}
      USING (id = ${CURRENT_TENANT})`)
    this.schema.raw(`ALTER TABLE users ENABLE ROW LEVEL SECURITY`)
    // memberships is itself bound to the tenant for this role: the subquery sees only its members.
    this.schema.raw(`CREATE POLICY users_members_only ON users FOR SELECT TO ${APP_ROLE}
      USING (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id))`)
    for (const table of ['memberships', 'invitations']) this.schema.raw(rebindTenantRls(table))
  }

  async down() {
    this.schema.raw(`DROP POLICY IF EXISTS users_members_only ON users`)
    this.schema.raw(`ALTER TABLE users DISABLE ROW LEVEL SECURITY`)
    this.schema.raw(`DROP POLICY IF EXISTS tenants_own_row ON tenants`)
    this.schema.raw(`ALTER TABLE tenants DISABLE ROW LEVEL SECURITY`)
  }
}
