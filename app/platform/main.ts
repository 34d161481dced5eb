/**
 * platform — cross-cutting services every module may use: audit events, feature flags,
 * notifications, outbound webhooks, mail. Depends only on core.
 * This file is the module's ONE public door: other modules import `#platform`, never `#platform/...`.
 */
export {
  recordAudit,
  verifyAuditChain,
  anonymiseAuditActor,
  listAuditEvents,
  auditEventRows,
  AUDIT_CSV_COLUMNS,
  type AuditFilter,
} from '#platform/services/audit'
export { deliverMail } from '#platform/services/mail'
export { listDevMailbox, findDevMail, extractLinks } from '#platform/services/mail_dev_mailbox'
export {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
  releaseIdempotencyKeysOf,
  requestHash,
  type IdempotencyScope,
} from '#platform/services/idempotency'
export {
  tenantAuditRows,
  tenantIdempotencyRows,
  tenantNotificationRows,
  tenantWebhookEndpointRows,
  tenantWebhookDeliveryRows,
  purgeTenantPlatformRows,
} from '#platform/services/tenant_rows'
export {
  notify,
  recordNotifications,
  mailNotifications,
  listNotifications,
  unreadNotifications,
  unreadBadge,
  markNotificationRead,
  markAllNotificationsRead,
  notificationPreferences,
  setNotificationPreferences,
  NOTIFICATION_KINDS,
  type NotificationKind,
  type NotificationRow,
  type Recipient,
} from '#platform/services/notifications'
export { flagEnabled, setFlag, FLAGS, type FlagKey, type FlagScope } from '#platform/services/flags'
export {
  WEBHOOK_EVENTS,
  emitWebhook,
  deliverDueWebhooks,
  startWebhookDispatcher,
  stopWebhookDispatcher,
  signWebhook,
  createWebhookEndpoint,
  rotateWebhookSecret,
  deleteWebhookEndpoint,
  listWebhookEndpoints,
  findWebhookEndpoint,
  listWebhookDeliveries,
  redeliverWebhook,
  type WebhookEvent,
  type WebhookEndpoint,
  type WebhookDelivery,
} from '#platform/services/webhooks'
export { auditPageProps, sendAuditCsv } from '#platform/services/audit_views'
