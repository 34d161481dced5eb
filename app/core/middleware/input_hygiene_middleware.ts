import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import { DomainException, InvalidInputException } from '#core/exceptions'
import { assertSafeInput, IDEMPOTENCY_KEY_RULE, isIdempotencyKey } from '#core/input'

/**
 * ONE rule at the edge for every matched route: no NUL byte or unpaired UTF-16 surrogate in any
 * string the client sends — route params, query string and body (values and keys, at any
 * depth) — and a well-formed Idempotency-Key header wherever one is sent. Refused with a 422
 * naming the field before any controller, validator or query sees it. Registered after the
 * session middleware so that a browser form is sent back with the field marked. A clean request
 * costs one native scan per string and allocates nothing. Multipart bodies are refused (415)
 * except on the upload routes a module declared (acceptUploadsOn); the body parser never reads
 * them by itself (those routes stream the file they expect, with a size limit).
 */
const uploadRoutes = new Set<string>()

/** Route names that take multipart uploads (every other route answers them 415). */
export function acceptUploadsOn(...routeNames: string[]) {
  for (const name of routeNames) uploadRoutes.add(name)
}

export default class InputHygieneMiddleware {
  handle(ctx: HttpContext, next: NextFn) {
    if (ctx.request.is(['multipart/form-data']) && !uploadRoutes.has(ctx.route?.name ?? ''))
      throw new DomainException('This endpoint takes no file uploads (multipart bodies).', {
        status: 415,
        code: 'E_UNSUPPORTED_MEDIA_TYPE',
      })
    assertSafeInput(ctx.params)
    assertSafeInput(ctx.request.qs())
    assertSafeInput(ctx.request.body())
    // The raw header: request.header() reports an empty value as absent.
    const key = ctx.request.request.headers['idempotency-key']
    if (key !== undefined && !isIdempotencyKey(key))
      throw new InvalidInputException('Idempotency-Key', IDEMPOTENCY_KEY_RULE)
    return next()
  }
}
