import type { HttpContext } from '@adonisjs/core/http'
import { Exception } from '@adonisjs/core/exceptions'
import { urlFor } from '#core'
import { findDevMail, listDevMailbox } from '#platform'

/**
 * The development mailbox: every mail the app sent while no SMTP_URL is configured. The HTML
 * part is not rendered (the page's CSP forbids the inline styles mails rely on); the text part
 * and its links are what an admin needs to follow a verification or reset link.
 */
export default class MailboxController {
  async index({ view, request, auth }: HttpContext) {
    const page = Number.parseInt(String(request.input('page', '1')), 10)
    const to = typeof request.input('to') === 'string' ? request.input('to').slice(0, 254) : ''
    const result = await listDevMailbox({
      page: Number.isSafeInteger(page) ? page : 1,
      perPage: 25,
      to,
    })
    const pageUrl = (n: number) =>
      urlFor('admin.mailbox.index', {}, { qs: { to: to || undefined, page: n } })
    return view.render('admin::pages/mailbox', {
      user: auth.user,
      ...result,
      to,
      prevUrl: result.page > 1 ? pageUrl(Math.min(result.page - 1, result.lastPage)) : null,
      nextUrl: result.page < result.lastPage ? pageUrl(result.page + 1) : null,
    })
  }

  async show({ view, params, auth }: HttpContext) {
    const mail = await findDevMail(String(params.id))
    if (!mail)
      throw new Exception('This message does not exist (anymore).', {
        status: 404,
        code: 'E_NOT_FOUND',
      })
    return view.render('admin::pages/mailbox_message', { user: auth.user, mail })
  }
}
