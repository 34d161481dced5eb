import { randomUUID } from 'node:crypto'
import app from '@adonisjs/core/services/app'
import logger from '@adonisjs/core/services/logger'
import db from '@adonisjs/lucid/services/db'
import { MailResponse } from '@adonisjs/mail'
import type { MailTransportContract, NodeMailerMessage, Recipient } from '@adonisjs/mail/types'

function addressOf(recipient: Recipient) {
  return typeof recipient === 'string' ? recipient : recipient.address
}

function bodyText(body: NodeMailerMessage['text']): string | null {
  if (typeof body === 'string') return body
  if (Buffer.isBuffer(body)) return body.toString('utf8')
  return null
}

/** The http(s) links in a text, in order, without duplicates or trailing punctuation. */
export function extractLinks(text: string | null | undefined): string[] {
  const found = (text ?? '').match(/https?:\/\/[^\s<>"'`]+/g) ?? []
  return [...new Set(found.map((link) => link.replace(/[.,;:!?)\]]+$/, '')))]
}

/**
 * Mail transport used when no SMTP_URL is set: every message becomes a `dev_mailbox` row that
 * platform admins read at /admin/mailbox, so sign-up and reset work with no network at all.
 */
export class DevMailboxTransport implements MailTransportContract {
  async send(message: NodeMailerMessage) {
    const to = [...(message.to ?? []), ...(message.cc ?? []), ...(message.bcc ?? [])].map(addressOf)
    const subject =
      typeof message.subject === 'string' && message.subject ? message.subject : '(no subject)'
    const text = bodyText(message.text)
    const html = bodyText(message.html)
    await db
      .table('dev_mailbox')
      .insert({ to: to.join(', ').slice(0, 254), subject: subject.slice(0, 200), html, text })
    if (app.inDev) {
      const link = extractLinks(text ?? html)[0] ?? null
      logger.info(
        { to: to.join(', '), subject, link },
        'mail stored in the dev mailbox (read it at /admin/mailbox)'
      )
    }
    const from = message.from ? addressOf(message.from) : false
    return new MailResponse(`<${randomUUID()}@dev-mailbox.agora>`, { from, to }, { stored: true })
  }
}

export type DevMailSummary = { id: string; to: string; subject: string; createdAt: Date }
export type DevMail = DevMailSummary & { html: string | null; text: string | null; links: string[] }

/** One page of the dev mailbox, newest first, optionally only mail whose recipient contains `to`. */
export async function listDevMailbox(
  options: { page?: number; perPage?: number; to?: string | null } = {}
) {
  const page = Number.isSafeInteger(options.page) && options.page! > 0 ? options.page! : 1
  const perPage = Math.min(Math.max(options.perPage ?? 25, 1), 100)
  const query = db
    .from('dev_mailbox')
    .select('id', 'to', 'subject', 'created_at')
    .orderBy('id', 'desc')
  const to = options.to?.trim().toLowerCase()
  if (to)
    query.whereRaw(`lower("to") like ? escape '\\'`, [
      `%${to.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
    ])
  const result = await query.paginate(page, perPage)
  return {
    mails: result.all().map((row: any): DevMailSummary => ({
      id: String(row.id),
      to: row.to,
      subject: row.subject,
      createdAt: new Date(row.created_at),
    })),
    page: result.currentPage,
    lastPage: Math.max(result.lastPage, 1),
    total: Number(result.total),
  }
}

/** One stored message with the links of its text part, or null (also for a malformed id). */
export async function findDevMail(id: string): Promise<DevMail | null> {
  if (!/^[1-9]\d{0,17}$/.test(id)) return null
  const row = await db.from('dev_mailbox').where('id', id).first()
  if (!row) return null
  return {
    id: String(row.id),
    to: row.to,
    subject: row.subject,
    createdAt: new Date(row.created_at),
    html: row.html,
    text: row.text,
    links: extractLinks(row.text ?? row.html),
  }
}
