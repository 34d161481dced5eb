/**
 * core: the shared kernel. No domain; every module may import it; it imports no module.
 */
export { formatCredits, parseCredits, creditsSchema } from '#core/money'
export { problem, openAiError, problemSchema, type Problem } from '#core/problem'
export { isHtmx, wantsJson, renderPageOrFragment } from '#core/htmx'
export { openAiErrorOf } from '#core/exception_handler'
export {
  addApiOperation,
  addApiSchema,
  dateTimeSchema,
  FREE_OBJECT,
  FREE_ARRAY,
  pageSchema,
} from '#core/openapi'
export { metricsRegistry, trackCacheRequests } from '#core/metrics'
export { allowRemoteMetricsReader } from '#core/controllers/metrics_controller'
export { isUuid } from '#core/ids'
export { OperatorCommand } from '#core/command'
export { wantsEventStream, openEventStream, type EventStream } from '#core/sse'
export {
  pageParams,
  keysetPage,
  encodeCursor,
  EXACT_CREATED_AT,
  type Cursor,
} from '#core/pagination'
export { keysetRows, type KeysetOptions } from '#core/keyset_rows'
export { NotFoundException, DomainException, InvalidInputException } from '#core/exceptions'
export { onRefusal, type Refusal } from '#core/forms'
export {
  isUnsafeText,
  safeText,
  findUnsafeInput,
  isIdempotencyKey,
  IDEMPOTENCY_KEY_RULE,
  isBoundedDay,
  boundedDay,
  boundedInstant,
  slug,
  SLUG_PATTERN,
  SLUG_RULE,
  parseBoundedInstant,
  MIN_YEAR,
  MAX_YEAR,
} from '#core/input'
export { isStatelessPath } from '#core/middleware/web_middleware'
export { acceptUploadsOn } from '#core/middleware/input_hygiene_middleware'
export { readUpload, type Upload } from '#core/uploads'
export { bus, PROCESS_ID } from '#core/bus'
export { preparedQuery, weeklyCreated } from '#core/sql'
export { isTransientError, TRANSIENT_RETRY_AFTER_S } from '#core/transient'
export { hardenDatabase } from '#core/database_resilience'
export { inBackground } from '#core/background'
export { takeRate, rateHeaders, type RateState } from '#core/rate_limit'
export { urlFor, type RouteName, type UrlOptions } from '#core/urls'
export {
  beginWith,
  scopedClient,
  withoutBeginSuffix,
  withPinnedTransaction,
  withScopedClient,
} from '#core/scoped_client'
export { isPrivateAddress } from '#core/private_network'
export { readiness } from '#core/health'
export { csvChunks, csvField } from '#core/csv'
export { registerSecretRewrap, rewrapSecrets, type Encrypter, type Reseal } from '#core/secrets'
export { migrate } from '#core/migrate'
export { escapeHtml } from '#core/html'
export { composedBody } from '#core/middleware/compression_middleware'
