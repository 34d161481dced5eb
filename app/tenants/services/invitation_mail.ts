import { BaseMail } from '@adonisjs/mail'
import { deliverMail } from '#platform'
import { urlFor } from '#core'
import { appUrl } from '#config/app'

/**
 * The link an invitee opens. Built from APP_URL, never from the request's Host header, which an
 * attacker could set to receive the token.
 */
export function invitationLink(token: string) {
  return new URL(urlFor('tenants.invitation_acceptances.show', { token }), appUrl).toString()
}

/** "X invited you to join Y on Agora", with a single-use link valid 7 days. */
export class InvitationMail extends BaseMail {
  constructor(
    readonly to: string,
    readonly link: string,
    private data: { workspace: string; inviter: string; role: string; expiresOn: string }
  ) {
    super()
    this.subject = `${data.inviter} invited you to ${data.workspace} on Agora`
  }

  prepare() {
    const data = { ...this.data, email: this.to, link: this.link }
    this.message
      .to(this.to)
      .htmlView('tenants::emails/invitation', data)
      .textView('tenants::emails/invitation_text', data)
  }
}

/** Sends an invitation through the platform mailer (queued over SMTP, the dev mailbox otherwise). */
export async function sendInvitationMail(input: {
  to: string
  token: string
  workspace: string
  inviter: string
  role: string
  expiresOn: string
}) {
  const { to, token, ...data } = input
  await deliverMail(new InvitationMail(to, invitationLink(token), data))
}
