import app from '@adonisjs/core/services/app'
import { ExceptionHandler, type HttpContext } from '@adonisjs/core/http'
import {
  openAiError,
  problem,
  statusTitle,
  type OpenAiErrorBody,
  type Problem,
} from '#core/problem'
import { isHtmx, wantsJson } from '#core/htmx'
import { isTransientError, TRANSIENT_RETRY_AFTER_S } from '#core/transient'
import { fieldErrorsOf, refusalAnswer } from '#core/forms'

const OPENAI_COMPATIBLE = new Set(['/api/v1/chat/completions', '/api/v1/models'])

type ErrorLike = {
  status?: number
  code?: string
  message?: string
  messages?:
    { field: string; message: string }[] | { errors?: { field: string; message: string }[] }
  headers?: Record<string, string>
  help?: string
  field?: string | null
}

/** Statuses that are pages of their own, never a form's refusal. */
const NOT_REFUSALS = new Set([401, 403, 404, 405])

/** Maps any thrown value to a status and a client-safe message (and the fields it blames). */
export function classifyError(error: ErrorLike): {
  status: number
  detail: string
  errors?: Problem['errors']
} {
  if (isTransientError(error)) {
    return {
      status: 503,
      detail: 'The service is briefly unavailable. Try again in a few seconds; nothing was lost.',
    }
  }
  const status =
    typeof error.status === 'number' && error.status >= 400 && error.status < 600
      ? error.status
      : 500
  switch (error.code) {
    case 'E_VALIDATION_ERROR': {
      const list = Array.isArray(error.messages) ? error.messages : (error.messages?.errors ?? [])
      return {
        status: 422,
        detail: 'Some fields are invalid.',
        errors: list.map((entry) => ({ field: entry.field, message: entry.message })),
      }
    }
    case 'E_BAD_CSRF_TOKEN':
      return {
        status: 403,
        detail: 'The form expired or its security token is missing. Reload the page and try again.',
      }
    case 'E_REQUEST_ENTITY_TOO_LARGE':
      return { status: 413, detail: 'The request body is larger than this endpoint accepts.' }
    case 'E_ROUTE_NOT_FOUND':
    case 'E_ROW_NOT_FOUND':
      return { status: 404, detail: 'Nothing exists at this address.' }
  }
  if (status === 422 && error.message?.startsWith('Invalid JSON')) {
    return { status: 400, detail: 'The body must be a JSON object or array.' }
  }
  if (status === 400 && !error.code) {
    return { status: 400, detail: 'The request body is malformed.' }
  }
  // A deliberate 503 (draining, a run not recorded) says what happened and when to retry.
  if (status === 503 && error.code && error.message) return { status, detail: error.message }
  if (status >= 500) {
    return {
      status,
      detail: 'Something went wrong on our side. Try again; if it persists, quote the request id.',
    }
  }
  // A domain refusal that blames one field names it, like a validator does.
  if (typeof error.field === 'string' && error.message) {
    return {
      status,
      detail: error.message,
      errors: [{ field: error.field, message: error.message }],
    }
  }
  return { status, detail: error.message || statusTitle(status) }
}

/**
 * OpenAI's error shape for any thrown value (what its SDKs parse): a field error names the field
 * in `param`, as OpenAI does. The OpenAI-compatible endpoints answer with it (and store it for
 * an idempotent replay).
 */
export function openAiErrorOf(error: unknown): { status: number; body: OpenAiErrorBody } {
  const err = (error ?? {}) as ErrorLike
  const { status, detail, errors } = classifyError(err)
  const first = errors?.[0]
  const body = openAiError(status, first ? `${first.field}: ${first.message}` : detail, err.code)
  if (first) body.error.param = first.field
  return { status, body }
}

/**
 * One place turns every error into the right shape: RFC 9457 problem documents for the API,
 * a message fragment for htmx, a friendly page (or a redirect with a flash) for browsers.
 * Nothing internal leaks: a 500 says "something went wrong" with the request id.
 */
export default class HttpExceptionHandler extends ExceptionHandler {
  protected debug = false
  protected renderStatusPages = true
  protected ignoreStatuses = [400, 401, 402, 403, 404, 405, 409, 413, 415, 422, 429]

  async handle(error: unknown, ctx: HttpContext) {
    const err = (error ?? {}) as ErrorLike
    const { status, detail, errors } = classifyError(err)
    const requestId = ctx.request.id()
    for (const [name, value] of Object.entries(err.headers ?? {})) ctx.response.header(name, value)
    if (status === 503 && !ctx.response.getHeader('retry-after'))
      ctx.response.header('Retry-After', String(TRANSIENT_RETRY_AFTER_S))

    // The OpenAI-compatible endpoints answer in OpenAI's error shape, which its SDKs parse.
    if (OPENAI_COMPATIBLE.has(ctx.request.url())) {
      ctx.response.header('x-should-retry', status === 429 || status >= 500 ? 'true' : 'false')
      const { body } = openAiErrorOf(error)
      return ctx.response.status(status).json(body)
    }

    if (wantsJson(ctx)) {
      return ctx.response
        .status(status)
        .header('content-type', 'application/problem+json; charset=utf-8')
        .send(JSON.stringify(problem(status, detail, { request_id: requestId, errors })))
    }

    // A refused browser form: rendered again with the fields marked, as its controller declared
    // (onRefusal), or back to the form with the message, the field errors and the input flashed.
    const refused = status >= 400 && status < 500 && !NOT_REFUSALS.has(status)
    const answer = refused ? refusalAnswer(ctx) : undefined
    if (answer && 'render' in answer) {
      const fieldErrors = fieldErrorsOf(errors)
      const refusal = { status, code: err.code, message: detail, fieldErrors, error }
      const body = await answer.render(refusal)
      // Undefined: the renderer answered itself (a redirect, a fragment). A page it rendered gets
      // the refusal's status unless it chose its own (e.g. 410 for a used link).
      if (body === undefined) return
      if (ctx.response.getStatus() === 200) ctx.response.status(status)
      return ctx.response.send(body)
    }
    const browser = !isHtmx(ctx) && 'session' in ctx
    // A 429 without a declared page keeps its status and Retry-After (a page of its own).
    const formRefused = ctx.request.method() !== 'GET' && refused && (status !== 429 || answer)
    const back = formRefused || err.code === 'E_BAD_CSRF_TOKEN' || err.code === 'E_VALIDATION_ERROR'
    if (browser && back) {
      const onlyField = errors?.length === 1 && errors[0].message === detail
      if (!onlyField) ctx.session.flash('error', detail)
      if (errors?.length) {
        ctx.session.flashExcept(['_csrf', '_method', 'password', 'password_confirmation'])
        ctx.session.flash('inputErrorsBag', fieldErrorsOf(errors))
      }
      return answer ? ctx.response.redirect(answer.redirect) : ctx.response.redirect().back()
    }

    const state = { status, title: statusTitle(status), detail, errors, requestId }
    if (isHtmx(ctx)) {
      // htmx swaps 4xx/5xx by default: send the message to the page's alert region instead of
      // replacing the target with an error page.
      ctx.response.header('HX-Retarget', '#alerts')
      ctx.response.header('HX-Reswap', 'innerHTML')
      return ctx.response
        .status(status)
        .send(
          await ctx.view.render('components/alert', { kind: 'error', message: detail, requestId })
        )
    }
    const page =
      status === 404
        ? 'errors/not_found'
        : status === 403
          ? 'errors/forbidden'
          : status === 503
            ? 'errors/unavailable'
            : status >= 500
              ? 'errors/server_error'
              : 'errors/generic'
    try {
      return ctx.response.status(status).send(await ctx.view.render(page, state))
    } catch (renderError) {
      ctx.logger.error({ err: renderError }, 'error page failed to render')
      return ctx.response.status(status).send(`${statusTitle(status)} (request ${requestId})`)
    }
  }

  async report(error: unknown, ctx: HttpContext) {
    const status = (error as ErrorLike)?.status
    if (typeof status === 'number' && status < 500) return
    if (isTransientError(error)) {
      // Expected during an outage: one short line each, not a stack trace per request.
      ctx.logger.warn(
        { code: (error as ErrorLike).code },
        `dependency unavailable: ${(error as Error)?.message}`
      )
      return
    }
    ctx.logger.error({ err: error }, (error as Error)?.message ?? 'unhandled error')
    if (app.inTest && process.env.DEBUG_ERRORS) console.error(error)
  }
}
