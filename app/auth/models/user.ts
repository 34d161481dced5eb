import { DateTime } from 'luxon'
import hash from '@adonisjs/core/services/hash'
import { afterDelete, afterUpdate, BaseModel, beforeSave, column } from '@adonisjs/lucid/orm'
import { DbAccessTokensProvider } from '@adonisjs/auth/access_tokens'
import { SessionBoundRememberTokens } from '#auth/services/remember_tokens'
import { API_TOKENS, forgetUser } from '#auth/services/token_cache'

/** A person. Identity is global: one user may belong to many tenants. */
export default class User extends BaseModel {
  static table = 'users'

  @column({ isPrimary: true })
  declare id: string

  @column()
  declare email: string

  @column()
  declare name: string

  @column({ serializeAs: null })
  declare password: string

  @column()
  declare timeZone: string

  @column()
  declare platformAdmin: boolean

  @column.dateTime()
  declare emailVerifiedAt: DateTime | null

  @column.dateTime()
  declare disabledAt: DateTime | null

  @column({ serializeAs: null })
  declare totpSecretEncrypted: string | null

  @column.dateTime()
  declare totpEnabledAt: DateTime | null

  @column({ serializeAs: null })
  declare totpLastStep: number | string | null

  @column.dateTime({ autoCreate: true })
  declare createdAt: DateTime

  @column.dateTime({ autoCreate: true, autoUpdate: true })
  declare updatedAt: DateTime

  static accessTokens = DbAccessTokensProvider.forModel(User, API_TOKENS)

  static rememberMeTokens = new SessionBoundRememberTokens({
    tokenableModel: User,
    table: 'remember_me_tokens',
  })

  @beforeSave()
  static async hashPassword(user: User) {
    if (user.$dirty.password) user.password = await hash.make(user.password)
  }

  /** API requests read users from a cache: any change (a disable above all) must reach it. */
  @afterUpdate()
  @afterDelete()
  static async forgetCached(user: User) {
    await forgetUser(user.id, user.$trx)
  }

  get twoFactorEnabled() {
    return this.totpEnabledAt !== null
  }
}
