import type { HttpContext } from '@adonisjs/core/http'
import { InvalidInputException, isUuid, NotFoundException, pageParams, urlFor } from '#core'
import {
  listNotifications,
  markAllNotificationsRead,
  markNotificationRead,
  notificationPreferences,
  setNotificationPreferences,
  NOTIFICATION_KINDS,
  type NotificationRow,
} from '#platform/services/notifications'

const json = (row: NotificationRow) => ({
  id: row.id,
  tenant_id: row.tenant_id,
  kind: row.kind,
  title: row.title,
  body: row.body,
  url: row.url,
  read: row.read_at !== null,
  created_at: new Date(row.created_at).toISOString(),
})

/** The caller: the session's user, or the token's (its membership, set by the API middleware). */
const userIdOf = (ctx: HttpContext) =>
  ((ctx as any).membership?.userId as string | undefined) ?? (ctx.auth.user as { id: string }).id

/**
 * The signed-in user's notifications: the API (GET list, PATCH one `{read: true}`) sees those
 * of the token's tenant and the user's own; the page (/notifications) all of them, with the
 * email preferences.
 */
export default class NotificationsController {
  async apiIndex(ctx: HttpContext) {
    const params = pageParams(ctx)
    const tenantId = (ctx as any).tenant?.id as string | undefined
    const page = await listNotifications(userIdOf(ctx), { ...params, tenantId })
    return { data: page.rows.map(json), next_cursor: page.next_cursor }
  }

  async apiUpdate(ctx: HttpContext) {
    const id = String(ctx.params.id)
    if (!isUuid(id)) throw new NotFoundException()
    if (ctx.request.input('read') !== true)
      throw new InvalidInputException('read', 'read must be true (notifications are marked read).')
    const tenantId = (ctx as any).tenant?.id as string | undefined
    const row = await markNotificationRead(userIdOf(ctx), id, tenantId)
    if (!row) throw new NotFoundException()
    return json(row)
  }

  async index(ctx: HttpContext) {
    const userId = userIdOf(ctx)
    const page = await listNotifications(userId, pageParams(ctx, { forgiving: true }))
    return ctx.view.render('platform::pages/notifications', {
      notifications: page.rows.map(json),
      nextUrl: page.next_cursor
        ? urlFor('platform.notifications.index', {}, { qs: { cursor: page.next_cursor } })
        : null,
      preferences: await notificationPreferences(userId),
    })
  }

  /** PATCH /notifications/:id marks one read; PATCH /notifications (no id) marks all read. */
  async update(ctx: HttpContext) {
    const id = ctx.params.id ? String(ctx.params.id) : null
    if (id && (!isUuid(id) || !(await markNotificationRead(userIdOf(ctx), id))))
      throw new NotFoundException()
    if (!id) await markAllNotificationsRead(userIdOf(ctx))
    return ctx.response.redirect(urlFor('platform.notifications.index'))
  }

  /** PUT /notifications/preferences: one checkbox per kind (checked = email on). */
  async preferences(ctx: HttpContext) {
    const checked = new Set([ctx.request.input('email', [])].flat().map(String))
    await setNotificationPreferences(
      userIdOf(ctx),
      Object.fromEntries(Object.keys(NOTIFICATION_KINDS).map((kind) => [kind, checked.has(kind)]))
    )
    ctx.session.flash('success', 'Email preferences saved.')
    return ctx.response.redirect(urlFor('platform.notifications.index'))
  }
}
