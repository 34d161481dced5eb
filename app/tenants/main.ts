/**
 * tenants — workspaces, memberships and roles, invitations, tenant resolution and scoping.
 * This file is the module's ONE public door: other modules import `#tenants`, never `#tenants/...`.
 */
export { default as Tenant } from '#tenants/models/tenant'
export { default as Membership } from '#tenants/models/membership'
export { ROLES, PERMISSIONS, roleAllows, type Role, type Permission } from '#tenants/roles'
export {
  currentTenant,
  scoped,
  findScoped,
  withTenant,
  authorize,
  assertWritable,
  tenantsOf,
} from '#tenants/services/tenancy'
export { createTenant, slugify, SlugTakenError } from '#tenants/actions/create_tenant'
