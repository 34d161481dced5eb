import { HttpContext } from '@adonisjs/core/http'
import { BaseMail } from '@adonisjs/mail'
import { deliverMail } from '#platform'
import { appUrl } from '#config/app'
import type User from '#auth/models/user'
import { issueUserToken } from '#auth/services/user_tokens'
import { requestWait } from '#auth/services/brute_force'
import { urlFor } from '#core'

/**
 * Absolute link for a mail, built from APP_URL and never from the request's Host header, which
 * an attacker could set to receive someone else's reset token.
 */
export function mailLink(path: string) {
  return new URL(path, appUrl).toString()
}

/** An auth mail: one HTML and one text template under resources/views/auth/emails/. */
abstract class AuthMail extends BaseMail {
  constructor(
    readonly to: string,
    private template: string,
    private data: Record<string, unknown>
  ) {
    super()
  }

  prepare() {
    this.message
      .to(this.to)
      .htmlView(`auth::emails/${this.template}`, this.data)
      .textView(`auth::emails/${this.template}_text`, this.data)
  }
}

/** "Confirm your (new) email address", with a single-use link valid 24 h. */
export class VerifyEmailMail extends AuthMail {
  constructor(
    to: string,
    name: string,
    readonly link: string,
    readonly change: boolean
  ) {
    super(to, 'verify_email', { name, email: to, link, change })
    this.subject = change ? 'Confirm your new email address' : 'Confirm your email address'
  }
}

/** Sent instead of a verification mail when someone signs up with a registered address. */
export class SignupAttemptMail extends AuthMail {
  subject = 'Someone tried to sign up with your email address'
  constructor(to: string) {
    super(to, 'signup_attempt', {
      email: to,
      loginLink: mailLink(urlFor('auth.session.create')),
      resetLink: mailLink(urlFor('auth.password_reset.create')),
    })
  }
}

/** "Reset your password", with a single-use link valid 1 h. */
export class PasswordResetMail extends AuthMail {
  subject = 'Reset your Agora password'
  constructor(
    to: string,
    name: string,
    readonly link: string
  ) {
    super(to, 'password_reset', { name, email: to, link })
  }
}

/** Tells the previous address that the account moved, so a hijack does not go unnoticed. */
export class EmailChangedMail extends AuthMail {
  subject = 'Your Agora email address was changed'
  constructor(
    to: string,
    name: string,
    readonly newEmail: string
  ) {
    super(to, 'email_changed', { name, oldEmail: to, newEmail })
  }
}

/** Sends the email-verification link for `email` (the account's address or a new one). */
export async function sendVerificationEmail(user: User, email: string) {
  const token = await issueUserToken(user, 'email_verification', email)
  const change = email.toLowerCase() !== user.email.toLowerCase()
  await deliverMail(
    new VerifyEmailMail(
      email,
      user.name,
      mailLink(urlFor('auth.email_verification.show', { token })),
      change
    )
  )
}

/**
 * Tells the owner of an already-registered address that someone tried to sign up with it. Over
 * the limit the notice is silently skipped: the caller's response must not change.
 */
export async function sendSignupAttemptNotice(email: string) {
  const ip = HttpContext.get()?.request.ip() ?? 'none'
  if ((await requestWait('signup_notice', email, ip)) !== null) return
  await deliverMail(new SignupAttemptMail(email))
}

/** Sends a password-reset link (older unused reset links stop working). */
export async function sendPasswordResetEmail(user: User) {
  const token = await issueUserToken(user, 'password_reset', user.email)
  await deliverMail(
    new PasswordResetMail(
      user.email,
      user.name,
      mailLink(urlFor('auth.password_reset.show', { token }))
    )
  )
}

/** Notifies the address an account just left. */
export async function sendEmailChangedNotice(user: User, oldEmail: string) {
  await deliverMail(new EmailChangedMail(oldEmail, user.name, user.email))
}
