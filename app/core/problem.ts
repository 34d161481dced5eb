import vine from '@vinejs/vine'
import type { Infer } from '@vinejs/vine/types'

/** An RFC 9457 problem document, the body of every /api error (and the OpenAPI `Problem`). */
export const problemSchema = vine.object({
  type: vine.string(),
  title: vine.string(),
  status: vine.number().withoutDecimals(),
  detail: vine.string(),
  request_id: vine.string().optional(),
  errors: vine.array(vine.object({ field: vine.string(), message: vine.string() })).optional(),
})
export type Problem = Infer<typeof problemSchema>

/** OpenAI's error body, answered by the OpenAI-compatible endpoints (the OpenAPI `OpenAiError`). */
export const openAiErrorSchema = vine.object({
  error: vine.object({
    message: vine.string(),
    type: vine.string(),
    code: vine.string().nullable(),
    param: vine.string().nullable(),
  }),
})
export type OpenAiErrorBody = Infer<typeof openAiErrorSchema>

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  402: 'Payment required',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Validation failed',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
}

/** Human title for a status code. */
export function statusTitle(status: number) {
  return TITLES[status] ?? (status >= 500 ? 'Server error' : 'Request error')
}

/** Builds a problem document; `type` is a stable relative URI per kind of problem. */
export function problem(status: number, detail: string, extra: Partial<Problem> = {}): Problem {
  const title = extra.title ?? statusTitle(status)
  return {
    type: extra.type ?? `/problems/${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
    title,
    status,
    detail,
    request_id: extra.request_id,
    ...(extra.errors ? { errors: extra.errors } : {}),
  }
}

/** OpenAI's error body for a status (`type` as its SDKs expect). */
export function openAiError(
  status: number,
  message: string,
  code?: string | null
): OpenAiErrorBody {
  const type =
    status === 401
      ? 'authentication_error'
      : status === 402
        ? 'insufficient_quota'
        : status === 403
          ? 'permission_error'
          : status === 429
            ? 'rate_limit_error'
            : status >= 500
              ? 'api_error'
              : 'invalid_request_error'
  return { error: { message, type, code: code ?? null, param: null } }
}
