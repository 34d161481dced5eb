/**
 * Roles and what each may do, in one table (the README's permission table mirrors it). Every
 * controller authorises against this through `authorize()`; hiding UI is never the control.
 */
export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const
export type Role = (typeof ROLES)[number]

/**
 * Roles an invitation may carry. Ownership is never handed out by email: an owner promotes a
 * member or transfers ownership. Admins may invite admins, as they may promote members to admin.
 */
export const INVITABLE_ROLES = ['admin', 'member', 'viewer'] as const satisfies readonly Role[]
export type InvitableRole = (typeof INVITABLE_ROLES)[number]

export const PERMISSIONS = {
  'tenant.read': ['owner', 'admin', 'member', 'viewer'],
  'tenant.update': ['owner', 'admin'],
  'tenant.delete': ['owner'],
  'tenant.export': ['owner'],
  'tenant.domain': ['owner'],
  'tenant.security': ['owner'],
  'members.read': ['owner', 'admin', 'member', 'viewer'],
  'members.manage': ['owner', 'admin'],
  'members.manage_owners': ['owner'],
  'agents.read': ['owner', 'admin', 'member', 'viewer'],
  'agents.write': ['owner', 'admin', 'member'],
  'runs.read': ['owner', 'admin', 'member', 'viewer'],
  'runs.write': ['owner', 'admin', 'member'],
  'credits.read': ['owner', 'admin', 'member', 'viewer'],
  'credits.manage': ['owner', 'admin'],
  'analytics.read': ['owner', 'admin', 'member', 'viewer'],
  'knowledge.write': ['owner', 'admin', 'member'],
  'webhooks.write': ['owner', 'admin'],
  'audit.read': ['owner', 'admin'],
  'tokens.create': ['owner', 'admin', 'member', 'viewer'],
} as const satisfies Record<string, readonly Role[]>

export type Permission = keyof typeof PERMISSIONS

/** True when `role` may perform `permission`. */
export function roleAllows(role: Role, permission: Permission) {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role)
}

/** API token abilities map onto permissions; a token can never exceed its owner's role. */
export const ABILITY_PERMISSIONS: Record<string, Permission> = {
  'agents:read': 'agents.read',
  'agents:write': 'agents.write',
  'runs:read': 'runs.read',
  'runs:write': 'runs.write',
  'credits:read': 'credits.read',
  'credits:write': 'credits.manage',
  'analytics:read': 'analytics.read',
  'knowledge:write': 'knowledge.write',
  'webhooks:write': 'webhooks.write',
}
