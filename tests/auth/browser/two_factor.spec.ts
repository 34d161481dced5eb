import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import { findDevMail, listDevMailbox } from '#platform'
import { User } from '#auth'
import { awayFromStepEdge, totpCode } from '#tests/helpers/two_factor'
import { USER_PASSWORD } from '#database/factories/user_factory'

test.group('auth / two-factor in a real browser', () => {
  test('sign up, verify the email from the dev mailbox, enrol 2FA (QR passes the CSP), log out, log back in with a code', async ({
    browserContext,
    assert,
  }) => {
    const base = `http://${process.env.HOST}:${process.env.PORT}`
    const page = await browserContext.newPage()
    const problems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))

    const email = `browser-${randomUUID()}@example.test`
    await page.goto(`${base}/signup`)
    await page.fill('#field-name', 'Browser Person')
    await page.fill('#field-email', email)
    await page.fill('#field-password', USER_PASSWORD)
    await Promise.all([
      page.waitForURL(`${base}/login`),
      page.click('form[action="/signup"] button[type="submit"]'),
    ])

    // The development mailbox (no SMTP_URL) holds the confirmation mail; open its link.
    const [summary] = (await listDevMailbox({ to: email })).mails
    const mail = await findDevMail(summary.id)
    const link = mail!.links.find((href) => href.includes('/email-verifications/'))!
    await page.goto(`${base}${new URL(link).pathname}`)
    await Promise.all([
      page.waitForLoadState('load'),
      page.click('form[action^="/email-verifications/"] button[type="submit"]'),
    ])
    const user = await User.findByOrFail('email', email)
    assert.isNotNull(user.emailVerifiedAt)

    await page.goto(`${base}/login?next=/account`)
    await page.fill('#field-email', user.email)
    await page.fill('#field-password', USER_PASSWORD)
    await Promise.all([
      page.waitForURL(`${base}/account`),
      page.click('form[action="/login"] button[type="submit"]'),
    ])

    await page.fill('#two-factor-enable-password', USER_PASSWORD)
    await Promise.all([
      page.waitForLoadState('load'),
      page.click('form[action="/account/two-factor"] button[type="submit"]'),
    ])
    assert.isTrue(await page.locator('svg.qr-code').isVisible())
    const secret = (await page.locator('#two-factor-secret').innerText()).replace(/\s/g, '')
    assert.match(secret, /^[A-Z2-7]{32}$/)

    await awayFromStepEdge()
    await page.fill('#field-code', totpCode(secret))
    await Promise.all([
      page.waitForLoadState('load'),
      page.click('#two-factor-confirm button[type="submit"]'),
    ])
    assert.lengthOf(await page.locator('#recovery-code-list li').all(), 10)

    await page.goto(`${base}/account`)
    await Promise.all([
      page.waitForURL(/\/$|\/login/),
      page.click('form[action="/session?_method=DELETE"] button[type="submit"]'),
    ])

    await page.goto(`${base}/login?next=/account`)
    await page.fill('#field-email', user.email)
    await page.fill('#field-password', USER_PASSWORD)
    await Promise.all([
      page.waitForURL(`${base}/login/two-factor`),
      page.click('form[action="/login"] button[type="submit"]'),
    ])
    // The code used to confirm is spent: the app's next code (still in the ±1 window) logs in.
    await page.fill('#field-code', totpCode(secret, 1))
    await Promise.all([
      page.waitForURL(`${base}/account`),
      page.click('form[action="/login/two-factor"] button[type="submit"]'),
    ])
    assert.include(await page.locator('#two-factor').innerText(), 'Turn off two-factor')

    assert.deepEqual(problems, [])
  })
})
