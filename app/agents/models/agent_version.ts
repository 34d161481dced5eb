import { DateTime } from 'luxon'
import { BaseModel, column } from '@adonisjs/lucid/orm'

/** One immutable configuration of an agent; runs pin the version they used. */
export default class AgentVersion extends BaseModel {
  static table = 'agent_versions'

  @column({ isPrimary: true })
  declare id: string

  @column()
  declare tenantId: string

  @column()
  declare agentId: string

  @column()
  declare version: number

  @column()
  declare instructions: string

  @column()
  declare model: string

  @column({ prepare: (value: string[]) => JSON.stringify(value ?? []) })
  declare fallbackModels: string[]

  @column({ consume: (value) => (value === null ? null : Number(value)) })
  declare temperature: number | null

  @column()
  declare maxTokens: number

  /** The documents the agent searches (`knowledge_search`): all of the workspace's, or chosen ones. */
  @column({ prepare: (value: unknown) => (value ? JSON.stringify(value) : null) })
  declare knowledge: { documents: 'all' | string[] } | null

  /** Model calls one run of this agent may make in its tool loop. */
  @column()
  declare maxSteps: number

  @column({ prepare: (value: unknown[]) => JSON.stringify(value ?? []) })
  declare tools: unknown[]

  @column({ prepare: (value: Record<string, unknown>) => JSON.stringify(value ?? {}) })
  declare metadata: Record<string, any>

  @column()
  declare createdBy: string | null

  @column.dateTime({ autoCreate: true })
  declare createdAt: DateTime
}
