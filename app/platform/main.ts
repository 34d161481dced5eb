/**
 * platform — cross-cutting services every module may use: audit events, feature flags, notifications, outbound webhooks. Depends only on core.
 * This file is the module's ONE public door: other modules import `#platform`, never `#platform/...`.
 */
export const moduleName = 'platform'
