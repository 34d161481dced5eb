import { DateTime } from 'luxon'
import { BaseModel, column } from '@adonisjs/lucid/orm'
import type { InvitableRole } from '#tenants/roles'

export type InvitationStatus = 'pending' | 'expired' | 'accepted' | 'revoked'

/** An invitation to join a tenant with a role; only the SHA-256 of its link token is stored. */
export default class Invitation extends BaseModel {
  static table = 'invitations'

  @column({ isPrimary: true })
  declare id: string

  @column()
  declare tenantId: string

  @column()
  declare email: string

  @column()
  declare role: InvitableRole

  @column({ serializeAs: null })
  declare tokenHash: string

  @column()
  declare invitedBy: string | null

  @column.dateTime()
  declare expiresAt: DateTime

  @column.dateTime()
  declare acceptedAt: DateTime | null

  @column()
  declare acceptedBy: string | null

  @column.dateTime()
  declare revokedAt: DateTime | null

  @column.dateTime()
  declare lastSentAt: DateTime

  @column.dateTime({ autoCreate: true })
  declare createdAt: DateTime

  get status(): InvitationStatus {
    if (this.revokedAt) return 'revoked'
    if (this.acceptedAt) return 'accepted'
    return this.expiresAt <= DateTime.now() ? 'expired' : 'pending'
  }
}
