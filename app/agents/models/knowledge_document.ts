import { DateTime } from 'luxon'
import { BaseModel, column } from '@adonisjs/lucid/orm'

export type DocumentStatus = 'processing' | 'ready' | 'failed'

/** A workspace's document for knowledge search; the upload itself is kept in `content`. */
export default class KnowledgeDocument extends BaseModel {
  static table = 'knowledge_documents'

  @column({ isPrimary: true })
  declare id: string

  @column()
  declare tenantId: string

  @column()
  declare name: string

  @column()
  declare mediaType: string

  @column()
  declare kind: 'text' | 'markdown' | 'csv' | 'pdf'

  @column()
  declare bytes: number

  @column({ serializeAs: null })
  declare content: Buffer

  @column()
  declare status: DocumentStatus

  @column()
  declare error: string | null

  @column()
  declare chunks: number

  @column()
  declare progress: number

  /** The model whose vectors its chunks hold; null: searched by words only. */
  @column()
  declare embeddingModel: string | null

  @column()
  declare createdBy: string | null

  @column.dateTime({ autoCreate: true })
  declare createdAt: DateTime

  @column.dateTime({ autoCreate: true, autoUpdate: true })
  declare updatedAt: DateTime

  /** The tenant's documents for lists: every column but the upload itself. */
  static listed(tenantId: string) {
    return this.query()
      .where('knowledge_documents.tenant_id', tenantId)
      .select(
        'id',
        'tenant_id',
        'name',
        'kind',
        'bytes',
        'status',
        'progress',
        'chunks',
        'error',
        'created_at',
        'updated_at'
      )
  }
}
