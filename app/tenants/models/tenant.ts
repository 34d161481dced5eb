import { DateTime } from 'luxon'
import { afterDelete, afterUpdate, BaseModel, column } from '@adonisjs/lucid/orm'
import { forgetTenant } from '#tenants/services/access_cache'

/** Days between an owner's deletion request and the purge (the owner may cancel meanwhile). */
export const DELETION_GRACE_DAYS = 7

/** An organisation's workspace; every domain row belongs to exactly one. */
export default class Tenant extends BaseModel {
  static table = 'tenants'

  @column({ isPrimary: true })
  declare id: string

  @column()
  declare slug: string

  @column()
  declare name: string

  @column()
  declare planId: string

  /** Days run inputs and outputs are kept (30, 90, 365), or null: forever. */
  @column()
  declare runRetentionDays: number | null

  @column()
  declare timeZone: string

  @column()
  declare customDomain: string | null

  @column({ serializeAs: null })
  declare domainVerificationToken: string | null

  @column.dateTime()
  declare domainVerifiedAt: DateTime | null

  /** When the pending domain claim was made; it expires DOMAIN_CLAIM_TTL_DAYS later. */
  @column.dateTime()
  declare domainClaimedAt: DateTime | null

  @column()
  declare requireTwoFactor: boolean

  @column.dateTime()
  declare suspendedAt: DateTime | null

  @column()
  declare suspensionReason: string | null

  @column.dateTime()
  declare deletionRequestedAt: DateTime | null

  /** The last complete data export (command or download); deletion needs one. */
  @column.dateTime()
  declare lastExportedAt: DateTime | null

  @column.dateTime({ autoCreate: true })
  declare createdAt: DateTime

  @column.dateTime({ autoCreate: true, autoUpdate: true })
  declare updatedAt: DateTime

  /** API requests read tenants from a cache: a rename, suspension or 2FA requirement must reach it. */
  @afterUpdate()
  @afterDelete()
  static async forgetCached(tenant: Tenant) {
    await forgetTenant(tenant.id, tenant.$trx, tenant.slug)
  }

  get suspended() {
    return this.suspendedAt !== null
  }

  /** When a requested deletion becomes final (the purge may run from then on). */
  get deletionDueAt() {
    return this.deletionRequestedAt
      ? this.deletionRequestedAt.plus({ days: DELETION_GRACE_DAYS })
      : null
  }
}
