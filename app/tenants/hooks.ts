import { registerDeletionGuard, registerTokenTenantOptions } from '#auth'
import Membership from '#tenants/models/membership'
import { tenantsOf } from '#tenants/services/tenancy'

/** Registers what tenants answers to auth's extension points (called once from start/events.ts). */
export function registerTenantHooks() {
  // Tokens can be bound to any workspace the user belongs to.
  registerTokenTenantOptions(async (user) =>
    (await tenantsOf(user.id)).map((t) => ({ id: t.id, label: `${t.name} (${t.slug})` }))
  )

  // An account cannot be deleted while it is the last owner of a workspace.
  registerDeletionGuard(async (user) => {
    const owned = await Membership.query()
      .where('userId', user.id)
      .where('role', 'owner')
      .select('tenantId')
    for (const { tenantId } of owned) {
      const owners = await Membership.query()
        .where('tenantId', tenantId)
        .where('role', 'owner')
        .count('* as n')
        .first()
      if (Number(owners?.$extras.n) <= 1)
        return 'You are the last owner of a workspace: transfer ownership or delete the workspace first.'
    }
    return null
  })
}
