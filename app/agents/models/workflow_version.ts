import { DateTime } from 'luxon'
import { BaseModel, column } from '@adonisjs/lucid/orm'

/** One step of a workflow: the agent (by slug) and the template of its input. */
export type WorkflowStep = { agent: string; input: string }

/** One immutable configuration of a workflow; runs pin the version they used. */
export default class WorkflowVersion extends BaseModel {
  static table = 'workflow_versions'

  @column({ isPrimary: true })
  declare id: string

  @column()
  declare tenantId: string

  @column()
  declare workflowId: string

  @column()
  declare version: number

  @column({ prepare: (value: WorkflowStep[]) => JSON.stringify(value ?? []) })
  declare steps: WorkflowStep[]

  @column()
  declare createdBy: string | null

  @column.dateTime({ autoCreate: true })
  declare createdAt: DateTime
}
