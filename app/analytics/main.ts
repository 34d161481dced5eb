/**
 * analytics — the read side: rollups fed by events, dashboards, exports.
 * This file is the module's ONE public door: other modules import `#analytics`, never `#analytics/...`.
 */
export const moduleName = 'analytics'
export { projectFacts, rebuildTenant } from '#analytics/services/projector'
export { flushProjections } from '#analytics/services/projection_buffer'
export { HIST_THRESHOLDS, bucketOf, percentile } from '#analytics/histogram'
import '#analytics/export'
