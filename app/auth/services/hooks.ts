import type User from '#auth/models/user'

/**
 * Seams for modules above auth (which auth may not import): they register checks here, e.g.
 * tenants refuses account deletion while the user is a tenant's last owner.
 */
type DeletionGuard = (user: User) => Promise<string | null>
const deletionGuards: DeletionGuard[] = []

export function registerDeletionGuard(guard: DeletionGuard) {
  deletionGuards.push(guard)
}

/** The first reason a user may not delete their account, or null. */
export async function deletionBlocker(user: User) {
  for (const guard of deletionGuards) {
    const reason = await guard(user)
    if (reason) return reason
  }
  return null
}

/** Workspaces a user may bind an API token to (registered by tenants). */
type TokenTenantOptions = (user: User) => Promise<{ id: string; label: string }[]>
let tokenTenantOptions: TokenTenantOptions = async () => []

export function registerTokenTenantOptions(provider: TokenTenantOptions) {
  tokenTenantOptions = provider
}

export function tokenTenantChoices(user: User) {
  return tokenTenantOptions(user)
}
