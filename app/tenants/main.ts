/**
 * tenants — workspaces, memberships and roles, invitations, tenant resolution and scoping.
 * This file is the module's ONE public door: other modules import `#tenants`, never `#tenants/...`.
 */
export { default as Tenant, DELETION_GRACE_DAYS } from '#tenants/models/tenant'
export { default as Membership } from '#tenants/models/membership'
export { default as Invitation } from '#tenants/models/invitation'
export {
  ROLES,
  INVITABLE_ROLES,
  PERMISSIONS,
  roleAllows,
  type Role,
  type InvitableRole,
  type Permission,
} from '#tenants/roles'
export {
  currentTenant,
  scoped,
  findScoped,
  withTenant,
  tenantReads,
  rlsPerRequest,
  authorize,
  assertWritable,
  tenantsOf,
} from '#tenants/services/tenancy'
export { createTenant, slugify } from '#tenants/actions/create_tenant'
export { suspendTenant, liftSuspension } from '#tenants/actions/lifecycle'
export { markDomainVerified } from '#tenants/actions/domains'
export { registerTenantExport, tableRows, type ExportSource } from '#tenants/services/export'
export { tenantTimeZone } from '#tenants/services/time_zone'
