import type { HttpContext } from '@adonisjs/core/http'

/** True when htmx made the request (it sends `HX-Request: true`). */
export function isHtmx(ctx: HttpContext) {
  return ctx.request.header('hx-request') === 'true'
}

/** True for the JSON API and for clients that ask for JSON rather than HTML. */
export function wantsJson(ctx: HttpContext) {
  if (ctx.request.url().startsWith('/api/')) return true
  const accept = ctx.request.header('accept') ?? ''
  return accept.includes('application/json') || accept.includes('application/problem+json')
}

/**
 * The one way a list or panel refreshes in place: one Edge component per swappable fragment, the
 * page includes it; an htmx swap (not a boosted navigation, which wants the page) gets the
 * component alone. `pageState` adds what only the whole page needs (computed only for it).
 */
export async function renderPageOrFragment(
  ctx: HttpContext,
  views: { page: string; fragment: string },
  state: Record<string, unknown>,
  pageState: () => Record<string, unknown> | Promise<Record<string, unknown>> = () => state
) {
  const swap = isHtmx(ctx) && ctx.request.header('hx-boosted') !== 'true'
  return swap
    ? ctx.view.render(views.fragment, state)
    : ctx.view.render(views.page, await pageState())
}
