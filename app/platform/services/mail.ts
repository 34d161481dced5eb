import app from '@adonisjs/core/services/app'
import emitter from '@adonisjs/core/services/emitter'
import logger from '@adonisjs/core/services/logger'
import mail from '@adonisjs/mail/services/main'
import type { BaseMail } from '@adonisjs/mail'

let listening = false

/** Background sends report failures as an event; without a listener they would vanish. */
function logQueuedFailures() {
  if (listening) return
  listening = true
  emitter.on('queued:mail:error', ({ error, mailerName }) => {
    logger.error({ err: error, mailer: mailerName }, 'queued mail could not be sent')
  })
}

/**
 * Sends a class-based mail. Over SMTP it is queued in-process, so a slow mail server neither
 * delays the response nor lets its timing tell whether an account exists; the dev mailbox is a
 * local insert and is written inline. A failed send is logged, never turned into an error page:
 * the caller's change is already saved and the user can ask for the mail again.
 */
export async function deliverMail(message: BaseMail) {
  try {
    if (mail.config.default === 'smtp') {
      logQueuedFailures()
      await mail.sendLater(message)
    } else {
      await mail.send(message)
    }
  } catch (error) {
    logger.error({ err: error, subject: message.subject }, 'mail could not be sent')
    if (app.inTest && process.env.DEBUG_ERRORS) console.error(error)
  }
}
