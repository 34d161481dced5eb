import { BaseEvent } from '@adonisjs/core/events'

/** Available credits fell below the tenant's low-balance threshold (once per period). */
export default class CreditsRanLow extends BaseEvent {
  constructor(
    public facts: {
      tenantId: string
      period: string
      availableMicros: bigint
      thresholdMicros: bigint
    }
  ) {
    super()
  }
}
