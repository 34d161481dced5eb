import type { SMTPConfig } from '@adonisjs/mail/types'

/**
 * SMTP options from `SMTP_URL` (`smtp://user:pass@host:port`, or `smtps://` for implicit TLS).
 * Kept free of framework imports: config/mail.ts calls it while the app is still loading.
 */
export function smtpConfigFromUrl(raw: string): SMTPConfig {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new Error('SMTP_URL is not a valid URL (expected smtp://user:pass@host:port)')
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new Error(`SMTP_URL must start with smtp:// or smtps://, got "${url.protocol}"`)
  }
  if (!url.hostname) throw new Error('SMTP_URL has no host')
  const secure = url.protocol === 'smtps:'
  const user = decodeURIComponent(url.username)
  return {
    host: url.hostname,
    port: Number(url.port || (secure ? 465 : 587)),
    secure,
    ...(user
      ? { auth: { type: 'login' as const, user, pass: decodeURIComponent(url.password) } }
      : {}),
  }
}
