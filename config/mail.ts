import env from '#start/env'
import { configProvider } from '@adonisjs/core'
import { defineConfig, transports } from '@adonisjs/mail'
import type { InferMailers } from '@adonisjs/mail/types'
import { appUrl } from '#config/app'
import { smtpConfigFromUrl } from '#platform/services/mail_config'

const smtpUrl = env.get('SMTP_URL')

/**
 * SMTP when SMTP_URL is set; otherwise the dev mailbox (a table an admin page reads), so a fresh
 * machine needs no mail server and never touches the network. Both mailers are always declared
 * (their transports are built lazily, on first use) so the mailer names stay static.
 */
const mailConfig = defineConfig({
  default: smtpUrl ? 'smtp' : 'dev_mailbox',
  from: {
    // MAIL_FROM is optional; the default uses the public host so replies go somewhere recognisable.
    address: process.env.MAIL_FROM || `no-reply@${new URL(appUrl).hostname}`,
    name: 'Agora',
  },
  mailers: {
    dev_mailbox: configProvider.create(async () => {
      const { DevMailboxTransport } = await import('#platform/services/mail_dev_mailbox')
      return () => new DevMailboxTransport()
    }),
    smtp: transports.smtp(smtpUrl ? smtpConfigFromUrl(smtpUrl) : { host: '127.0.0.1', port: 25 }),
  },
})

export default mailConfig

declare module '@adonisjs/mail/types' {
  export interface MailersList extends InferMailers<typeof mailConfig> {}
}
