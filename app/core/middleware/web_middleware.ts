import app from '@adonisjs/core/services/app'
import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import SessionMiddleware from '@adonisjs/session/session_middleware'
import ShieldMiddleware from '@adonisjs/shield/shield_middleware'
import { cspFactory, frameGuardFactory, hstsFactory, noSniffFactory } from '@adonisjs/shield/guards'
import { SESSION_COOKIE } from '#config/session'
import shieldConfig from '#config/shield'

/** Paths with no browser session and no HTML: bearer-token API, probes, metrics, signed webhooks. */
const STATELESS = /^\/(api\/|health\/|webhooks\/|metrics$)/

export function isStatelessPath(url: string) {
  return STATELESS.test(url)
}

let stack: Promise<[SessionMiddleware<any>, ShieldMiddleware]> | undefined

/** Shield's header guards (CSP, frames, HSTS, sniffing) without CSRF, which needs a session. */
const headerGuards = [
  cspFactory(shieldConfig.csp ?? {}),
  frameGuardFactory(shieldConfig.xFrame ?? {}),
  hstsFactory(shieldConfig.hsts ?? {}),
  noSniffFactory(shieldConfig.contentTypeSniffing ?? {}),
]

/** Cookies that mean a browser may be signed in: its session, or a remember-me token. */
const SIGNED_IN_COOKIES = new RegExp(`(^|;\\s*)(${SESSION_COOKIE}|remember_web)=`)

const sessionless = new WeakSet<HttpContext>()

/**
 * A first visit to the landing page (GET /, no session or remember-me cookie) gets no session:
 * the page has no form, and minting a session id, a CSRF secret and an encrypted cookie for
 * every anonymous hit was most of its cost. Its HTML is then the same for every such visit.
 */
export function isSessionlessVisit(ctx: HttpContext) {
  return sessionless.has(ctx)
}

/**
 * Session + shield (CSRF, CSP, frame and sniffing guards) for every browser route, so no route
 * can forget CSRF; the stateless paths above skip them (no cookie, no CSRF secret to mint).
 */
export default class WebMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    const url = ctx.request.url()
    if (isStatelessPath(url)) return next()
    if (
      url === '/' &&
      ctx.request.method() === 'GET' &&
      !SIGNED_IN_COOKIES.test(ctx.request.header('cookie') ?? '')
    ) {
      sessionless.add(ctx)
      for (const guard of headerGuards) await guard(ctx)
      return next()
    }
    stack ??= Promise.all([
      app.container.make(SessionMiddleware),
      app.container.make(ShieldMiddleware),
    ])
    const [session, shield] = await stack
    return session.handle(ctx, () => shield.handle(ctx, next))
  }
}
