import { DateTime } from 'luxon'
import { BaseModel, column } from '@adonisjs/lucid/orm'

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]
export const TERMINAL: RunStatus[] = ['succeeded', 'failed', 'cancelled']

/** One execution of an agent version; money lives in credits (hold + charge). */
export default class Run extends BaseModel {
  static table = 'runs'

  @column({ isPrimary: true })
  declare id: string

  @column()
  declare tenantId: string

  @column()
  declare agentId: string | null

  @column()
  declare agentVersionId: string | null

  @column()
  declare version: number | null

  /** The knowledge chunks the run's answer drew on. */
  @column({ prepare: (value: unknown) => (value ? JSON.stringify(value) : null) })
  declare citations: { document_id: string; chunk_id: string; document_name: string }[] | null

  /** Set on workflow runs (their agent_id is null: several agents take part). */
  @column()
  declare workflowId: string | null

  @column()
  declare workflowVersionId: string | null

  @column()
  declare workflowVersion: number | null

  @column()
  declare threadId: string | null

  @column()
  declare memberId: string | null

  @column()
  declare status: RunStatus

  @column()
  declare input: string

  @column()
  declare output: string

  @column()
  declare inputTokens: number

  @column()
  declare outputTokens: number

  @column({ consume: (value) => BigInt(value ?? 0), prepare: (value: bigint) => value?.toString() })
  declare costMicros: bigint

  @column({ consume: (value) => BigInt(value ?? 0), prepare: (value: bigint) => value?.toString() })
  declare holdMicros: bigint

  @column()
  declare holdId: string | null

  @column()
  declare cachedTokens: number

  @column()
  declare reasoningTokens: number

  /** True when the provider did not report usage and it was counted as ceil(characters / 4). */
  @column()
  declare usageEstimated: boolean

  @column()
  declare model: string | null

  /** The price in force when the run started, of the model charged (see priceRecord). */
  @column({
    prepare: (value: unknown) =>
      value === null || value === undefined ? null : JSON.stringify(value),
  })
  declare price: Record<string, any> | null

  @column({
    prepare: (value: unknown) =>
      value === null || value === undefined ? null : JSON.stringify(value),
  })
  declare error: Record<string, any> | null

  /** Why a failed run failed (see ERROR_TYPES in services/error_types); null unless failed. */
  @column()
  declare errorType: string | null

  @column()
  declare latencyMs: number | null

  @column()
  declare ttftMs: number | null

  @column({ prepare: (value: unknown) => JSON.stringify(value ?? {}) })
  declare metadata: Record<string, any>

  @column()
  declare source: string

  /** The process executing the run (run_owners.id); null while queued. */
  @column()
  declare owner: string | null

  /** Executions started (a run whose owner died before any output is retried once). */
  @column()
  declare attempts: number

  /** The provider reported more usage than the hold covered: charged up to the hold. */
  @column()
  declare usageOverHold: boolean

  @column.dateTime({ autoCreate: true })
  declare createdAt: DateTime

  @column.dateTime()
  declare startedAt: DateTime | null

  @column.dateTime()
  declare finishedAt: DateTime | null

  @column.dateTime()
  declare cancelRequestedAt: DateTime | null

  get terminal() {
    return TERMINAL.includes(this.status)
  }
}
