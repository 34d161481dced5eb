import { BaseEvent } from '@adonisjs/core/events'

/** A monthly budget's spend reached 50, 80 or 100 % (once per budget, period and threshold). */
export default class BudgetThresholdReached extends BaseEvent {
  constructor(
    public facts: {
      tenantId: string
      scope: 'member' | 'agent'
      subjectId: string
      threshold: number
      period: string
      spentMicros: bigint
      limitMicros: bigint
    }
  ) {
    super()
  }
}
