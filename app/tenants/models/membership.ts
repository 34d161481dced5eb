import { DateTime } from 'luxon'
import { afterCreate, afterDelete, afterUpdate, BaseModel, column } from '@adonisjs/lucid/orm'
import { forgetMembership } from '#tenants/services/access_cache'
import type { Role } from '#tenants/roles'

/** A user's role in one tenant. */
export default class Membership extends BaseModel {
  static table = 'memberships'

  @column({ isPrimary: true })
  declare id: string

  @column()
  declare tenantId: string

  @column()
  declare userId: string

  @column()
  declare role: Role

  @column.dateTime({ autoCreate: true })
  declare createdAt: DateTime

  @column.dateTime({ autoCreate: true, autoUpdate: true })
  declare updatedAt: DateTime

  /** Requests read memberships from a cache: a new one, a role change or removal must reach it. */
  @afterCreate()
  @afterUpdate()
  @afterDelete()
  static async forgetCached(membership: Membership) {
    await forgetMembership(membership.tenantId, membership.userId, membership.$trx)
  }
}
