import { BaseEvent } from '@adonisjs/core/events'

/** An evaluation run ended (every case run, or stopped with an error); outbound webhooks' `eval.finished`. */
export default class EvalRunFinished extends BaseEvent {
  constructor(
    public facts: {
      tenantId: string
      evalRunId: string
      suiteId: string
      agentId: string
      agentVersion: number
      status: 'succeeded' | 'failed'
      passed: number
      failed: number
    }
  ) {
    super()
  }
}
