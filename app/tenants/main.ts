/**
 * tenants — tenants, memberships and roles, invitations, tenant resolution and scoping.
 * This file is the module's ONE public door: other modules import `#tenants`, never `#tenants/...`.
 */
export const moduleName = 'tenants'
