import app from '@adonisjs/core/services/app'
import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import SessionMiddleware from '@adonisjs/session/session_middleware'
import ShieldMiddleware from '@adonisjs/shield/shield_middleware'

/** Paths with no browser session and no HTML: bearer-token API, probes, metrics, signed webhooks. */
const STATELESS = /^\/(api\/|health\/|webhooks\/|metrics$)/

export function isStatelessPath(url: string) {
  return STATELESS.test(url)
}

let stack: Promise<[SessionMiddleware<any>, ShieldMiddleware]> | undefined

/**
 * Session + shield (CSRF, CSP, frame and sniffing guards) for every browser route, so no route
 * can forget CSRF; the stateless paths above skip them (no cookie, no CSRF secret to mint).
 */
export default class WebMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    const url = ctx.request.url()
    if (isStatelessPath(url)) return next()
    stack ??= Promise.all([
      app.container.make(SessionMiddleware),
      app.container.make(ShieldMiddleware),
    ])
    const [session, shield] = await stack
    return session.handle(ctx, () => shield.handle(ctx, next))
  }
}
