import { randomUUID } from 'node:crypto'
import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'

const VALID_REQUEST_ID = /^[\w.:-]{1,128}$/

/**
 * Every response carries X-Request-Id: the caller's (when it is a sane token) or a fresh UUID.
 * The framework already binds the id to ctx.logger; a rejected caller id is rebound here.
 */
export default class RequestContextMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    const given = ctx.request.header('x-request-id')
    if (given !== undefined && !VALID_REQUEST_ID.test(given)) {
      const id = randomUUID()
      ctx.request.request.headers['x-request-id'] = id
      ctx.logger = ctx.logger.child({ request_id: id })
    }
    ctx.response.header('X-Request-Id', ctx.request.id()!)
    ctx.response.header('X-Content-Type-Options', 'nosniff')
    return next()
  }
}
