/**
 * tenants — workspaces, memberships and roles, invitations, tenant resolution and scoping.
 * This file is the module's ONE public door: other modules import `#tenants`, never `#tenants/...`.
 */
import db from '@adonisjs/lucid/services/db'
import { weeklyCreated } from '#core'

export { default as Tenant } from '#tenants/models/tenant'
export { default as Membership } from '#tenants/models/membership'
export { default as Invitation } from '#tenants/models/invitation'
export { ROLES, roleAllows, type Role, type Permission } from '#tenants/roles'
export {
  currentTenant,
  scoped,
  withTenant,
  authorize,
  assertWritable,
  readsNoTenantRows,
} from '#tenants/services/tenancy'
export { createTenant, slugify } from '#tenants/actions/create_tenant'
export { suspendTenant, liftSuspension } from '#tenants/actions/lifecycle'
export { registerTenantExport, tableRows, type ExportSource } from '#tenants/services/export'
export { registerHomePanel, type HomePanel } from '#tenants/services/home_panels'
export { registerMemberLimit } from '#tenants/services/member_limit'
export { memberContacts, memberNames } from '#tenants/services/member_names'
export { insertBenchMembers } from '#tenants/services/bench_members'
export { tenantTimeZone } from '#tenants/services/time_zone'
export { registerTenantHooks } from '#tenants/hooks'

/** New workspaces per ISO week since `since` (platform analytics). */
export function tenantsCreatedPerWeek(since: Date) {
  return weeklyCreated(db, 'tenants', since)
}
