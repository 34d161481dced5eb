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
 * Renders a page, or only its fragment for htmx: one Edge component per swappable fragment, the
 * page includes it and htmx requests get the component alone.
 */
export async function renderPageOrFragment(
  ctx: HttpContext,
  page: string,
  fragment: string,
  state: Record<string, unknown>
) {
  return isHtmx(ctx) ? ctx.view.render(fragment, state) : ctx.view.render(page, state)
}
