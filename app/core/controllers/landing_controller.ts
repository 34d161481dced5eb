import app from '@adonisjs/core/services/app'
import type { HttpContext } from '@adonisjs/core/http'
import { isSessionlessVisit } from '#core/middleware/web_middleware'

let anonymous: Buffer | undefined

/**
 * The landing page. A sessionless visit (see WebMiddleware) renders the same HTML every time, so
 * production renders it once per process and sends those bytes; a signed-in browser gets its own.
 */
export default class LandingController {
  async show(ctx: HttpContext) {
    if (!isSessionlessVisit(ctx) || !app.inProduction) return ctx.view.render('pages/landing')
    anonymous ??= Buffer.from(await ctx.view.render('pages/landing'))
    return ctx.response.header('content-type', 'text/html; charset=utf-8').send(anonymous)
  }
}
