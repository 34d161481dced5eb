import { BaseEvent } from '@adonisjs/core/events'

/** A run reached a terminal state and its charge is settled (emitted after commit). */
export default class RunFinished extends BaseEvent {
  constructor(
    public tenantId: string,
    public runId: string,
    public status: 'succeeded' | 'failed' | 'cancelled',
    public costMicros: bigint
  ) {
    super()
  }
}
