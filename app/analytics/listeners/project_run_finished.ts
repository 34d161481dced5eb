import type { RunFinished } from '#agents'
import { bufferProjection } from '#analytics/services/projection_buffer'

/**
 * Hands a finished run's facts to the batched projector: the run's request never waits for
 * analytics, and a projection failure never fails the run (it is logged, counted, and
 * `analytics:rebuild` repairs it).
 */
export default class ProjectRunFinished {
  handle(event: RunFinished) {
    return bufferProjection(event.facts)
  }
}
