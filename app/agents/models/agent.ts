import { DateTime } from 'luxon'
import { afterDelete, afterSave, BaseModel, beforeSave, column } from '@adonisjs/lucid/orm'
import { forgetAgent } from '#agents/services/agent_cache'

/** The slug an agent had before the save in progress (models are proxies: no private fields). */
const previousSlugs = new WeakMap<object, string>()

/** An agent of a tenant; its configuration lives in immutable versions. */
export default class Agent extends BaseModel {
  static table = 'agents'

  @column({ isPrimary: true })
  declare id: string

  @column()
  declare tenantId: string

  @column()
  declare slug: string

  @column()
  declare name: string

  @column()
  declare description: string | null

  @column()
  declare visibility: 'private' | 'public'

  @column()
  declare currentVersion: number

  /** The marketplace listing this agent was installed from, and the version it runs. */
  @column()
  declare listingId: string | null

  @column()
  declare installedVersion: number | null

  @column()
  declare createdBy: string | null

  @column.dateTime({ autoCreate: true })
  declare createdAt: DateTime

  @column.dateTime({ autoCreate: true, autoUpdate: true })
  declare updatedAt: DateTime

  @column.dateTime()
  declare deletedAt: DateTime | null

  @beforeSave()
  static rememberSlug(agent: Agent) {
    if (agent.$isPersisted && agent.$dirty.slug) previousSlugs.set(agent, agent.$original.slug)
  }

  /** Cached copies (agentForRun) go with every write, under the old slug too. */
  @afterSave()
  static async forgetCached(agent: Agent) {
    await forgetAgent(agent, agent.$trx, previousSlugs.get(agent))
    previousSlugs.delete(agent)
  }

  @afterDelete()
  static async forgetDeleted(agent: Agent) {
    await forgetAgent(agent, agent.$trx)
  }
}
