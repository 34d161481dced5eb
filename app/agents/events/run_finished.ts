import { BaseEvent } from '@adonisjs/core/events'
import type Run from '#agents/models/run'

/** The facts of a finished run that readers (analytics) need, so they never re-read runs. */
export type RunFacts = {
  tenantId: string
  runId: string
  agentId: string | null
  memberId: string | null
  model: string | null
  status: 'succeeded' | 'failed' | 'cancelled'
  /** Why a failed run failed (an ERROR_TYPES slug); null unless failed. */
  errorType: string | null
  inputTokens: number
  outputTokens: number
  /** What the ledger charged (micro-credits). */
  costMicros: bigint
  latencyMs: number | null
  /** When the run was created (its analytics bucket). */
  createdAt: Date
  finishedAt: Date
}

/**
 * A run reached a terminal state, its charge settled and its outcome committed (emitted after
 * commit, exactly once per run: abandoned runs ended by recovery included).
 */
export default class RunFinished extends BaseEvent {
  constructor(public facts: RunFacts) {
    super()
  }

  get tenantId() {
    return this.facts.tenantId
  }

  get runId() {
    return this.facts.runId
  }

  static factsOf(run: Run): RunFacts {
    return {
      tenantId: run.tenantId,
      runId: run.id,
      agentId: run.agentId,
      memberId: run.memberId,
      model: run.model,
      status: run.status as RunFacts['status'],
      errorType: run.status === 'failed' ? (run.errorType ?? 'other') : null,
      inputTokens: run.inputTokens,
      outputTokens: run.outputTokens,
      costMicros: run.costMicros,
      latencyMs: run.latencyMs,
      createdAt: run.createdAt.toJSDate(),
      finishedAt: (run.finishedAt ?? run.createdAt).toJSDate(),
    }
  }
}
