import db from '@adonisjs/lucid/services/db'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import { BaseMail } from '@adonisjs/mail'
import { escapeHtml, keysetPage, type Cursor } from '#core'
import { deliverMail } from '#platform/services/mail'

/** Kinds a user can switch email off for (in-app notifications always arrive). */
export const NOTIFICATION_KINDS = {
  'budget.threshold': 'Budget alerts (50, 80 and 100 % of a monthly budget)',
  'credits.low': 'Low balance',
  'purchase.paid': 'Purchases paid',
} as const
export type NotificationKind = keyof typeof NOTIFICATION_KINDS

export type Recipient = { userId: string; email: string }

export type NotificationRow = {
  id: string
  tenant_id: string | null
  kind: string
  title: string
  body: string
  url: string | null
  read_at: Date | null
  created_at: Date
}

/** The email twin of an in-app notification: title, body and the link. */
class NotificationMail extends BaseMail {
  constructor(
    private to: string,
    private note: { title: string; body: string; url: string | null }
  ) {
    super()
    this.subject = note.title
  }

  prepare() {
    const link = this.note.url ? `\n\n${this.note.url}` : ''
    this.message
      .to(this.to)
      .html(
        `<p>${escapeHtml(this.note.body)}</p>` +
          (this.note.url ? `<p><a href="${escapeHtml(this.note.url)}">Open Agora</a></p>` : '')
      )
      .text(`${this.note.body}${link}`)
  }
}

export type NotificationInput = {
  recipients: Recipient[]
  tenantId?: string | null
  kind: NotificationKind
  title: string
  body: string
  /** An absolute URL (emails leave the app). */
  url?: string | null
  dedupeKey?: string | null
}

/**
 * Notifies users in the app and, unless they switched the kind off, by email. `dedupeKey` makes
 * it idempotent per user: a notification already delivered under that key is not sent again.
 * Returns the users who were newly notified.
 */
export async function notify(input: NotificationInput): Promise<string[]> {
  const toMail = await recordNotifications(db, input)
  await mailNotifications(toMail, input)
  return toMail.notified
}

/**
 * The in-app half of notify(), in the caller's transaction (a tenant-bound one may use it for
 * that tenant's notifications). Returns who was newly notified, to mail after the commit.
 */
export async function recordNotifications(
  client: Pick<QueryClientContract, 'rawQuery'>,
  input: NotificationInput
): Promise<{ notified: string[]; mail: Recipient[] }> {
  const recipients = [...new Map(input.recipients.map((r) => [r.userId, r])).values()]
  if (!recipients.length) return { notified: [], mail: [] }
  const inserted = await client.rawQuery(
    `INSERT INTO notifications (user_id, tenant_id, kind, title, body, url, dedupe_key)
     SELECT u, ?, ?, ?, ?, ?, ? FROM unnest(?::uuid[]) AS u
     ON CONFLICT (user_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
     RETURNING user_id`,
    [
      input.tenantId ?? null,
      input.kind,
      input.title.slice(0, 200),
      input.body,
      input.url ?? null,
      input.dedupeKey ?? null,
      recipients.map((r) => r.userId),
    ] as any[]
  )
  const notified: string[] = inserted.rows.map((row: { user_id: string }) => row.user_id)
  forgetBadges(notified)
  return { notified, mail: recipients.filter((r) => notified.includes(r.userId)) }
}

/** The email half of notify(), after the caller's transaction committed: to those who kept it on. */
export async function mailNotifications(
  recorded: { mail: Recipient[] },
  note: Pick<NotificationInput, 'kind' | 'title' | 'body' | 'url'>
) {
  if (!recorded.mail.length) return
  const silenced = new Set(
    (
      await db
        .from('notification_preferences')
        .whereIn(
          'user_id',
          recorded.mail.map((r) => r.userId)
        )
        .where('kind', note.kind)
        .where('email', false)
        .select('user_id')
    ).map((row) => row.user_id)
  )
  for (const recipient of recorded.mail.filter((r) => !silenced.has(r.userId)))
    await deliverMail(
      new NotificationMail(recipient.email, {
        title: note.title,
        body: note.body,
        url: note.url ?? null,
      })
    )
}

/** A user's notifications, newest first; with `tenantId`, that tenant's and the user's own only. */
export async function listNotifications(
  userId: string,
  params: { limit: number; cursor: Cursor | null; tenantId?: string }
) {
  const query = db
    .from('notifications')
    .where('user_id', userId)
    .select('id', 'tenant_id', 'kind', 'title', 'body', 'url', 'read_at', 'created_at')
  if (params.tenantId)
    query.where((q) => q.where('tenant_id', params.tenantId!).orWhereNull('tenant_id'))
  return keysetPage<NotificationRow>(query, 'notifications', params)
}

/** How many of the user's notifications are unread. */
export async function unreadNotifications(userId: string): Promise<number> {
  const row = await db
    .from('notifications')
    .where('user_id', userId)
    .whereNull('read_at')
    .count('* as n')
    .first()
  return Number(row?.n ?? 0)
}

const BADGE_MS = 10_000
const badges = new Map<string, { count: number; until: number }>()

/**
 * The nav's unread count, remembered per user for 10 s in this process (pages render it without
 * a query most of the time; this process's own changes clear it at once, others' show within
 * 10 s). On a workspace page, row-level security narrows it to that workspace's notifications.
 */
export async function unreadBadge(userId: string): Promise<number> {
  const cached = badges.get(userId)
  if (cached && cached.until > Date.now()) return cached.count
  const count = await unreadNotifications(userId)
  if (badges.size > 50_000) badges.clear()
  badges.set(userId, { count, until: Date.now() + BADGE_MS })
  return count
}

function forgetBadges(userIds: string[]) {
  for (const id of userIds) badges.delete(id)
}

/**
 * Marks one notification read and returns it, or null when the id is not the user's (or, with
 * `tenantId`, not about that tenant or the user alone): another's notification is a 404.
 */
export async function markNotificationRead(
  userId: string,
  id: string,
  tenantId?: string
): Promise<NotificationRow | null> {
  const result = await db.rawQuery(
    `UPDATE notifications SET read_at = COALESCE(read_at, now())
      WHERE user_id = ? AND id = ? ${tenantId ? 'AND (tenant_id = ? OR tenant_id IS NULL)' : ''}
      RETURNING id, tenant_id, kind, title, body, url, read_at, created_at`,
    tenantId ? [userId, id, tenantId] : [userId, id]
  )
  forgetBadges([userId])
  return result.rows[0] ?? null
}

/** Marks all of the user's notifications read. */
export async function markAllNotificationsRead(userId: string) {
  await db.rawQuery(
    `UPDATE notifications SET read_at = now() WHERE user_id = ? AND read_at IS NULL`,
    [userId]
  )
  forgetBadges([userId])
}

/** The user's email switch per kind (on unless turned off). */
export async function notificationPreferences(userId: string) {
  const rows = await db.from('notification_preferences').where('user_id', userId)
  const off = new Set(rows.filter((row) => !row.email).map((row) => row.kind))
  return Object.entries(NOTIFICATION_KINDS).map(([kind, label]) => ({
    kind: kind as NotificationKind,
    label,
    email: !off.has(kind),
  }))
}

/** Saves the user's email switches; kinds not named keep their setting. */
export async function setNotificationPreferences(
  userId: string,
  emails: Partial<Record<NotificationKind, boolean>>
) {
  const entries = Object.entries(emails).filter(([kind]) => kind in NOTIFICATION_KINDS)
  if (!entries.length) return
  await db.rawQuery(
    `INSERT INTO notification_preferences (user_id, kind, email)
     SELECT ?, k, e FROM unnest(?::text[], ?::boolean[]) AS t(k, e)
     ON CONFLICT (user_id, kind) DO UPDATE SET email = EXCLUDED.email`,
    [userId, entries.map(([kind]) => kind), entries.map(([, email]) => Boolean(email))]
  )
}
