import { randomUUID } from 'node:crypto'
import { createApiToken, type User, type ApiAbility } from '#auth'
import { createTenant, Membership, type Role } from '#tenants'

/** A workspace owned by `owner`, with a unique slug. */
export async function createWorkspace(owner: User, name = 'Acme') {
  return createTenant({ name, slug: `t-${randomUUID().slice(0, 8)}`, ownerId: owner.id })
}

/** Adds `user` to the workspace with `role`. */
export function addMember(tenantId: string, user: User, role: Role) {
  return Membership.create({ tenantId, userId: user.id, role })
}

/** A bearer token for `user` in the workspace (all abilities unless listed). */
export async function tokenFor(user: User, tenantId: string, abilities: ApiAbility[] = []) {
  return (
    await createApiToken({ user, tenantId, name: `test-${randomUUID().slice(0, 6)}`, abilities })
  ).secret
}
