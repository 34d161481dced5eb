import { DateTime } from 'luxon'
import { BaseModel, column } from '@adonisjs/lucid/orm'

/** One message of a thread. */
export default class Message extends BaseModel {
  static table = 'messages'

  @column({ isPrimary: true })
  declare id: string

  @column()
  declare tenantId: string

  @column()
  declare threadId: string

  @column()
  declare runId: string | null

  @column()
  declare role: 'system' | 'user' | 'assistant'

  @column()
  declare content: string

  @column.dateTime({ autoCreate: true })
  declare createdAt: DateTime
}
