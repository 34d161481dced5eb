import type { BrowserContext } from 'playwright-core'
import { USER_PASSWORD } from '#database/factories/user_factory'

/** The test server's base URL (the browser suite serves HTTP on HOST:PORT). */
export const baseUrl = () => `http://${process.env.HOST}:${process.env.PORT}`

/**
 * A page signed in through the real login form, collecting page errors and console errors (CSP
 * violations included) in `problems`, which a test asserts empty at the end.
 */
export async function signedInPage(
  browserContext: BrowserContext,
  email: string,
  password = USER_PASSWORD
) {
  const page = await browserContext.newPage()
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text())
  })
  await page.goto(`${baseUrl()}/login`)
  await page.fill('input[name=email]', email)
  await page.fill('input[name=password]', password)
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith('/login')),
    page.click('form[action="/login"] button[type=submit]'),
  ])
  return { page, problems }
}
