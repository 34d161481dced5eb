import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import hash from '@adonisjs/core/services/hash'
import db from '@adonisjs/lucid/services/db'
import User from '#auth/models/user'
import { PasswordResetMail } from '#auth/services/auth_mail'
import { Session, signedIn } from '#tests/helpers/session'
import { capturedMails, fakeMail, pathOf } from '#tests/helpers/mail'
import {
  strongPassword,
  uniqueEmail,
  UserFactory,
  USER_PASSWORD,
} from '#database/factories/user_factory'

/** Requests a reset for `email` from a fresh browser; returns the response and the browser. */
async function requestReset(client: ApiClient, email: string) {
  const browser = new Session(client)
  const response = await browser.submit('POST', '/password-resets', { email })
  return { browser, response }
}

test.group('auth / password reset', () => {
  test('the login page has somewhere to go: /password-resets/new is a form', async ({
    client,
    assert,
  }) => {
    const page = await new Session(client).get('/password-resets/new')
    page.assertStatus(200)
    assert.include(page.text(), 'action="/password-resets"')
    assert.include(page.text(), "name='_csrf'")
  })

  test('an unknown email gets exactly the response a known one gets, and no mail', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.apply('unverified').create()
    const unknown = uniqueEmail('nobody')

    const known = await requestReset(client, user.email)
    const stranger = await requestReset(client, unknown)
    assert.equal(known.response.status(), stranger.response.status())
    assert.equal(known.response.header('location'), stranger.response.header('location'))
    const knownPage = (await known.browser.follow(known.response)).text()
    const strangerPage = (await stranger.browser.follow(stranger.response)).text()
    const message = (page: string, email: string) =>
      /If an account exists for ([^,]+), we sent[^<]*/.exec(page)?.[0].replace(email, '<email>')
    assert.isString(message(knownPage, user.email))
    assert.equal(message(knownPage, user.email), message(strangerPage, unknown))

    assert.lengthOf(capturedMails(fake, PasswordResetMail, user.email), 1)
    assert.lengthOf(capturedMails(fake, PasswordResetMail, unknown), 0)
    const audit = await db
      .from('audit_events')
      .where('action', 'auth.password.reset_requested')
      .where('subject_id', user.id)
      .first()
    assert.exists(audit)
  })

  test('resetting sets the password, uses the link and logs out every session', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.apply('unverified').create()
    const elsewhere = await signedIn(client, user)
    await User.rememberMeTokens.create(user, '30 days')
    ;(await elsewhere.get('/account')).assertStatus(200)

    const { browser } = await requestReset(client, user.email)
    const [mail] = capturedMails(fake, PasswordResetMail, user.email)
    mail.message.assertTextIncludes(mail.link)
    const form = await browser.get(pathOf(mail.link))
    form.assertStatus(200)
    assert.equal(form.header('referrer-policy'), 'no-referrer')
    assert.equal(form.header('cache-control'), 'no-store')

    const newPassword = strongPassword()
    const done = await browser.submit('POST', pathOf(mail.link), { password: newPassword })
    assert.equal(done.status(), 302)
    assert.equal(done.header('location'), '/login')

    await user.refresh()
    assert.isTrue(await hash.verify(user.password, newPassword))
    assert.isNotNull(user.emailVerifiedAt, 'the reset link proved the address')
    const kicked = await elsewhere.get('/account')
    assert.equal(kicked.status(), 302)
    assert.match(kicked.header('location') ?? '', /^\/login/)
    const remembered = await db
      .from('remember_me_tokens')
      .where('tokenable_id', user.id)
      .count('* as total')
    assert.equal(Number(remembered[0].total), 0)
    assert.exists(
      await db
        .from('audit_events')
        .where('action', 'auth.password.reset')
        .where('subject_id', user.id)
        .first()
    )

    const reused = await browser.submit('POST', pathOf(mail.link), { password: strongPassword() })
    reused.assertStatus(410)
    await signedIn(client, user, newPassword)
  })

  test('a common password is refused and the link stays usable', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.apply('unverified').create()
    const { browser } = await requestReset(client, user.email)
    const [mail] = capturedMails(fake, PasswordResetMail, user.email)

    const refused = await browser.submit('POST', pathOf(mail.link), { password: 'password123' })
    refused.assertStatus(422)
    assert.include(refused.text(), 'most common')
    await user.refresh()
    assert.isTrue(await hash.verify(user.password, USER_PASSWORD))

    const empty = await browser.submit('POST', pathOf(mail.link), {})
    empty.assertStatus(422)
    ;(await browser.get(pathOf(mail.link))).assertStatus(200)
  })

  test('a newer request makes older links expire', async ({ client, assert, cleanup }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.apply('unverified').create()
    await requestReset(client, user.email)
    const { browser } = await requestReset(client, user.email)
    const [first, second] = capturedMails(fake, PasswordResetMail, user.email)
    assert.notEqual(first.link, second.link)
    ;(await browser.get(pathOf(first.link))).assertStatus(410)
    ;(await browser.get(pathOf(second.link))).assertStatus(200)
  })

  test('an expired link is refused with 410 and offers a new one', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.apply('unverified').create()
    const { browser } = await requestReset(client, user.email)
    const [mail] = capturedMails(fake, PasswordResetMail, user.email)
    await db
      .from('user_tokens')
      .where('user_id', user.id)
      .update({ expires_at: new Date(Date.now() - 1000) })

    const page = await browser.get(pathOf(mail.link))
    page.assertStatus(410)
    assert.include(page.text(), 'href="/password-resets/new"')
    ;(await browser.submit('POST', pathOf(mail.link), { password: strongPassword() })).assertStatus(
      410
    )
    await user.refresh()
    assert.isTrue(await hash.verify(user.password, USER_PASSWORD))
  })

  test('an unknown link is a friendly 404', async ({ client }) => {
    const browser = new Session(client)
    ;(await browser.get(`/password-resets/${'B'.repeat(43)}`)).assertStatus(404)
    ;(
      await browser.submit('POST', `/password-resets/${'B'.repeat(43)}`, {
        password: strongPassword(),
      })
    ).assertStatus(404)
    ;(await browser.get('/password-resets/short')).assertStatus(404)
  })

  test('too many requests for one address → 429 with Retry-After, and no mail beyond the limit', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.apply('unverified').create()
    for (let i = 0; i < 5; i++) {
      assert.equal((await requestReset(client, user.email)).response.status(), 302)
    }
    const { response } = await requestReset(client, user.email.toUpperCase())
    response.assertStatus(429)
    assert.isAbove(Number(response.header('retry-after')), 0)
    assert.include(response.text(), 'Too many attempts')
    assert.lengthOf(capturedMails(fake, PasswordResetMail, user.email), 5)
  })

  test('too many requests from one address → 429 for any email', async ({
    client,
    assert,
    cleanup,
  }) => {
    fakeMail(cleanup)
    const browser = new Session(client)
    let status = 0
    for (let i = 0; i < 60 && status !== 429; i++) {
      status = (
        await browser.submit('POST', '/password-resets', { email: uniqueEmail('spray') })
      ).status()
    }
    assert.equal(status, 429)
  })

  test('a malformed email is a form error, not a crash', async ({ client, assert }) => {
    const browser = new Session(client)
    await browser.get('/password-resets/new')
    const response = await browser.submit('POST', '/password-resets', { email: 'not an email' })
    assert.equal(response.status(), 302)
    assert.equal(new URL(response.header('location')!, 'http://x').pathname, '/password-resets/new')
    const form = await browser.get('/password-resets/new')
    assert.include(form.text(), 'aria-invalid="true"')
  })
})
