import logger from '@adonisjs/core/services/logger'
import type { RunFinished } from '#agents'
import { projectRun } from '#analytics/services/projector'
import { dashboardCacheCounters } from '#analytics/services/cache'

/**
 * Projects a finished run into the rollups as soon as it settles (freshness is the time of one
 * upsert). A failure here must not fail the run: it is logged and `analytics:rebuild` repairs it.
 */
export default class ProjectRunFinished {
  async handle(event: RunFinished) {
    try {
      await projectRun(event.tenantId, event.runId)
    } catch (error) {
      dashboardCacheCounters.projectionFailures.inc()
      logger.error({ err: error, run_id: event.runId }, 'analytics projection failed')
    }
  }
}
