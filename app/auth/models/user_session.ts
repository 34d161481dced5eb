import { DateTime } from 'luxon'
import { afterDelete, afterUpdate, BaseModel, column } from '@adonisjs/lucid/orm'
import { forgetSessions } from '#auth/services/token_cache'

/** One signed-in browser: listed on the account page and revocable there. */
export default class UserSession extends BaseModel {
  static table = 'user_sessions'

  @column({ isPrimary: true })
  declare id: string

  @column()
  declare userId: string

  @column()
  declare ip: string | null

  @column()
  declare userAgent: string | null

  @column()
  declare remembered: boolean

  /** The remember-me token that restores this session, if any (deleted with it). */
  @column()
  declare rememberTokenId: number | null

  @column.dateTime({ autoCreate: true })
  declare createdAt: DateTime

  @column.dateTime()
  declare lastSeenAt: DateTime

  @column.dateTime()
  declare revokedAt: DateTime | null

  /** Pages read session rows from a cache: a revocation must reach it. */
  @afterUpdate()
  @afterDelete()
  static async forgetCached(record: UserSession) {
    await forgetSessions([record.id], record.$trx)
  }
}
