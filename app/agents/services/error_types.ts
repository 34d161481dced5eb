/**
 * Why a failed run failed, as a short stable slug: stored on the run (`runs.error_type`), the
 * runs list's `error` filter and analytics' failures by error type. Each comes from one or
 * more failure paths (the title of the problem each path writes is fixed in the code):
 * - timeout: the provider timed out (connect, first token, attempt, or it answered 504/408),
 *   the run hit RUN_TIMEOUT_S, or recovery ended a run that outlived it;
 * - rate_limited: the provider answered 429 (after the retries);
 * - provider_error: the provider failed otherwise (5xx, network, a stream cut short, malformed);
 * - provider_unavailable: the circuit breaker was open, or the provider answered 503/529;
 * - invalid_request: the provider refused the request (400, 401, 403, 404, 413, 422…);
 * - context_window: a later step's conversation outgrew the model's context window;
 * - max_steps: the agent used its max_steps model calls without finishing;
 * - workflow_error: a workflow step's agent is gone or called a function only the caller runs;
 * - budget_exceeded / insufficient_credits: a later step could not extend the hold;
 * - not_recorded: the run finished but its outcome could not be written (recovery ends it);
 * - abandoned: its process stopped or shut down, no worker took it, or it could not be queued;
 * - internal_error: a fault of ours while executing;
 * - other: anything else (an error this list does not know, or none recorded).
 * Tool failures never fail a run (the model gets the error back), so there is no tool type.
 */
export const ERROR_TYPES = [
  'timeout',
  'rate_limited',
  'provider_error',
  'provider_unavailable',
  'invalid_request',
  'context_window',
  'max_steps',
  'workflow_error',
  'budget_exceeded',
  'insufficient_credits',
  'not_recorded',
  'abandoned',
  'internal_error',
  'other',
] as const
export type ErrorType = (typeof ERROR_TYPES)[number]

const LABELS: Record<ErrorType, string> = {
  timeout: 'Timed out',
  rate_limited: 'Rate limited by the provider',
  provider_error: 'Provider error',
  provider_unavailable: 'Provider unavailable',
  invalid_request: 'Refused by the provider',
  context_window: 'Context window exceeded',
  max_steps: 'Too many steps',
  workflow_error: 'Workflow step failed',
  budget_exceeded: 'Budget exceeded',
  insufficient_credits: 'Credits exhausted',
  not_recorded: 'Outcome not recorded',
  abandoned: 'Abandoned',
  internal_error: 'Internal error',
  other: 'Other',
}

export function isErrorType(value: unknown): value is ErrorType {
  return typeof value === 'string' && (ERROR_TYPES as readonly string[]).includes(value)
}

/** A human name for an error type (an unknown slug is shown as it is). */
export function errorTypeLabel(type: string) {
  return isErrorType(type) ? LABELS[type] : type
}

/** The error type of a provider failure, from the status of the last failed model call. */
function providerErrorType(upstream: number | null | undefined): ErrorType {
  if (upstream === 429) return 'rate_limited'
  if (upstream === 408) return 'timeout'
  if (upstream === 503 || upstream === 529) return 'provider_unavailable'
  if (upstream !== null && upstream !== undefined && upstream >= 400 && upstream < 500)
    return 'invalid_request'
  return 'provider_error'
}

/**
 * The error type a run ending in `status` stores: null unless it failed. Deterministic, from the
 * run's error (its problem title, and for recovery its detail) and, for a provider error, the
 * status of its last failed model call (`upstream`: the run's problem says 502 whatever the
 * provider answered). The migration that added error_type applies the same rules in SQL.
 */
export function runErrorType(
  status: string,
  error: Record<string, unknown> | null | undefined,
  upstream?: number | null
): ErrorType | null {
  if (status !== 'failed') return null
  const title = typeof error?.title === 'string' ? error.title : ''
  const detail = typeof error?.detail === 'string' ? error.detail : ''
  switch (title) {
    case 'Provider timed out':
    case 'Run timed out':
      return 'timeout'
    case 'Provider unavailable':
      return 'provider_unavailable'
    case 'Provider error':
      return providerErrorType(upstream)
    case 'Context window exceeded':
      return 'context_window'
    case 'Too many steps':
      return 'max_steps'
    case 'Workflow step failed':
      return 'workflow_error'
    case 'Budget exceeded':
      return 'budget_exceeded'
    case 'Credits exhausted':
      return 'insufficient_credits'
    case 'Run not recorded':
      return 'not_recorded'
    // Recovery (runs.ts, recoverAbandonedRuns) says which case in the detail.
    case 'Run abandoned':
      if (detail.startsWith('The run exceeded ')) return 'timeout'
      if (detail.includes('could not be recorded')) return 'not_recorded'
      return 'abandoned'
    case 'Run not started':
    case 'Server shut down':
      return 'abandoned'
    case 'Run failed':
      return 'internal_error'
    default:
      return 'other'
  }
}
