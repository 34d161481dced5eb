import type { HttpContext } from '@adonisjs/core/http'
import type { DateTime } from 'luxon'
import { isHtmx, NotFoundException } from '#core'
import { currentTenant, roleAllows, type Permission } from '#tenants'
import { findAgent } from '#agents/services/lookup'

/** Flashed form state above this size is not flashed: the session may live in a 4 KB cookie. */
const MAX_FLASH_BYTES = 1024

/** The agent named in the route (`:slug`, id or slug) within the current tenant, or 404. */
export async function routeAgent(ctx: HttpContext) {
  const { tenant } = currentTenant(ctx)
  const agent = await findAgent(tenant.id, ctx.params.slug)
  if (!agent) throw new NotFoundException()
  return agent
}

/** Whether to offer an action in the page (the routes authorise anyway): role allows, workspace writable. */
export function can(ctx: HttpContext, permission: Permission) {
  const { tenant, membership } = currentTenant(ctx)
  return roleAllows(membership.role, permission) && !tenant.suspended
}

/** The current URL with `cursor` set (or removed), keeping the other query parameters. */
export function pageUrl(ctx: HttpContext, cursor: string | null) {
  const query = new URLSearchParams()
  for (const [key, value] of Object.entries(ctx.request.qs())) {
    if (key !== 'cursor' && typeof value === 'string' && value !== '') query.set(key, value)
  }
  if (cursor) query.set('cursor', cursor)
  const search = query.toString()
  return `${ctx.request.url()}${search ? `?${search}` : ''}`
}

/** A time in the tenant's time zone, e.g. "2026-03-01 14:05". */
export function localTime(
  ctx: HttpContext,
  time: DateTime | null | undefined,
  format = 'yyyy-LL-dd HH:mm'
) {
  if (!time) return ''
  return time.setZone(currentTenant(ctx).tenant.timeZone).toFormat(format)
}

/** After a successful write: a full-page redirect for htmx (HX-Redirect), a 302 otherwise. */
export function redirectTo(ctx: HttpContext, url: string) {
  if (isHtmx(ctx)) return ctx.response.header('HX-Redirect', url).status(204).send('')
  return ctx.response.redirect(url)
}

/**
 * Keeps a failed form's state for the page a no-JS browser is redirected to, when it is small
 * enough for the session cookie; false means "too large: re-render instead of redirecting".
 */
export function flashFormState(ctx: HttpContext, key: string, state: object) {
  if (Buffer.byteLength(JSON.stringify(state)) > MAX_FLASH_BYTES) return false
  ctx.session.flash(key, state)
  return true
}

/**
 * A refused run: the message in the page's alert region (htmx), or back to `url` with it flashed
 * and the form's input kept under `flashKey`.
 */
export async function refusedRun(
  ctx: HttpContext,
  refusal: { status: number; message: string; url: string; flashKey: string; input: string }
) {
  if (isHtmx(ctx)) {
    ctx.response.header('HX-Retarget', '#alerts').header('HX-Reswap', 'innerHTML')
    return ctx.response.status(refusal.status).send(
      await ctx.view.render('components/alert', {
        kind: refusal.status === 402 ? 'warning' : 'error',
        message: refusal.message,
        role: 'alert',
      })
    )
  }
  ctx.session.flash('error', refusal.message)
  flashFormState(ctx, refusal.flashKey, { values: { input: refusal.input }, errors: null })
  return ctx.response.redirect(refusal.url)
}
