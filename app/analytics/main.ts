/**
 * analytics — the read side: rollups fed by events, dashboards, exports.
 * This file is the module's ONE public door: other modules import `#analytics`, never `#analytics/...`.
 */
export const moduleName = 'analytics'
