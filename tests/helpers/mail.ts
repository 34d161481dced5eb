import mail from '@adonisjs/mail/services/main'
import type { BaseMail } from '@adonisjs/mail'

type MailClass<T> = abstract new (...args: any[]) => T

/** Turns on the mail fake for one test and restores the real mailer after it. */
export function fakeMail(cleanup: (handler: () => void) => void) {
  const fake = mail.fake()
  cleanup(() => mail.restore())
  return fake
}

/** Mails of a class captured by the fake (sent inline or queued), optionally only those to `to`. */
export function capturedMails<T extends BaseMail>(
  fake: ReturnType<typeof mail.fake>,
  kind: MailClass<T>,
  to?: string
): T[] {
  return [...fake.mails.sent(), ...fake.mails.queued()]
    .filter((sent): sent is T => sent instanceof kind)
    .filter((sent) => !to || sent.message.hasTo(to))
}

/** The path of an absolute link (what a test client requests). */
export function pathOf(link: string) {
  return new URL(link).pathname
}

/** Like capturedMails, waiting up to 2 s for mail sent after the response (sign-up sends so). */
export async function awaitedMails<T extends BaseMail>(
  fake: ReturnType<typeof mail.fake>,
  kind: MailClass<T>,
  to?: string
): Promise<T[]> {
  for (let waited = 0; waited < 2000; waited += 20) {
    const found = capturedMails(fake, kind, to)
    if (found.length) return found
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return []
}
