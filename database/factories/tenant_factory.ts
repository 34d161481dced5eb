import { randomUUID } from 'node:crypto'
import factory from '@adonisjs/lucid/factories'
import { Membership, Tenant } from '#tenants'
import { UserFactory } from '#database/factories/user_factory'

/** A unique slug within the slug rules. */
export function uniqueSlug(prefix = 't') {
  return `${prefix}-${randomUUID().slice(0, 8)}`
}

/**
 * A bare tenant row: no owner, no audit event, no credit account. Enough where a test needs a
 * tenant id only; a workspace people use comes from WorkspaceFactory.
 */
export const TenantFactory = factory
  .define(Tenant, () => ({
    name: 'Acme',
    slug: uniqueSlug(),
    planId: 'free',
    timeZone: 'UTC',
    requireTwoFactor: false,
  }))
  .build()

/**
 * A membership row (merge tenantId), without the audit event inviting would write: role member
 * and a new user unless merged.
 */
export const MembershipFactory = factory
  .define(Membership, () => ({ role: 'member' as const }))
  .before('create', async (_, membership, ctx) => {
    membership.userId ??= (await UserFactory.useCtx(ctx).create()).id
  })
  .build()

/** `count` new users who are members of the tenant (role member), user i with `fields(i)`. */
export async function createMembers(
  tenantId: string,
  count: number,
  fields: (i: number) => { name?: string; email?: string } = () => ({})
) {
  const users = []
  for (let i = 0; i < count; i++) {
    const user = await UserFactory.merge(fields(i)).create()
    await MembershipFactory.merge({ tenantId, userId: user.id, role: 'member' }).create()
    users.push(user)
  }
  return users
}
