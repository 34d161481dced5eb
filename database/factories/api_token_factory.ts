import { randomUUID } from 'node:crypto'
import { createApiToken, type ApiAbility, type User } from '#auth'

/**
 * API tokens through the createApiToken action: only the hash is stored, so a row built directly
 * would have no usable secret.
 */
export const ApiTokenFactory = {
  /** A bearer secret of `user` for the tenant (every ability unless listed). */
  async create(user: User, tenantId: string, abilities: ApiAbility[] = []) {
    const name = `test-${randomUUID().slice(0, 6)}`
    return (await createApiToken({ user, tenantId, name, abilities })).secret
  },
}
