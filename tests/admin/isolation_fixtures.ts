/*
 * The admin area addresses every workspace and user by design: platform admins only, and
 * tests/admin/functional/admin_area.spec.ts proves every admin route (from the router) is a 404
 * for tenant owners and signed-out visitors.
 */
import type { IsolationExclusion } from '#tests/tenants/isolation'

const reason =
  'platform admins administer every workspace and user by design; anyone else gets 404 (admin_area.spec)'

export const exclusions: IsolationExclusion[] = [
  '/admin/tenants/:id',
  '/admin/tenants/:id/suspension',
  '/admin/tenants/:id/plan-changes',
  '/admin/tenants/:id/credit-entries',
  '/admin/users/:id',
  '/admin/users/:id/disablement',
  '/admin/users/:id/two-factor',
  '/admin/users/:id/impersonation',
  '/admin/purchases/:id/payment',
  '/admin/purchases/:id/rejection',
  '/admin/plans/:id',
].map((route) => ({ route, reason }))
