import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import User from '#auth/models/user'
import { SignupAttemptMail, VerifyEmailMail, sendVerificationEmail } from '#auth/services/auth_mail'
import { hashToken } from '#auth/services/user_tokens'
import { Session, signedIn } from '#tests/helpers/session'
import { awaitedMails, capturedMails, fakeMail, pathOf } from '#tests/helpers/mail'
import { strongPassword, uniqueEmail, UserFactory } from '#database/factories/user_factory'

/** Sends a verification link to the user's address and returns the link's path. */
async function verificationLinkFor(user: User, fake: ReturnType<typeof fakeMail>) {
  await sendVerificationEmail(user, user.email)
  const [mail] = capturedMails(fake, VerifyEmailMail, user.email)
  return pathOf(mail.link)
}

test.group('auth / email verification', () => {
  test('sign-up mails a link; opening it changes nothing, confirming it verifies the address', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const browser = new Session(client)
    const email = uniqueEmail('signup')
    const signup = await browser.submit('POST', '/signup', {
      name: 'Ada',
      email,
      password: strongPassword(),
    })
    assert.equal(signup.status(), 302)

    const [mail] = await awaitedMails(fake, VerifyEmailMail, email)
    assert.exists(mail, 'a verification mail was sent')
    assert.equal(mail.subject, 'Confirm your email address')
    mail.message.assertTextIncludes(mail.link)
    mail.message.assertHtmlIncludes(mail.link)
    const token = mail.link.split('/').pop()!
    assert.match(token, /^[A-Za-z0-9_-]{43}$/)
    const stored = await db.from('user_tokens').where('token_hash', hashToken(token)).firstOrFail()
    assert.equal(stored.purpose, 'email_verification')
    assert.notInclude(JSON.stringify(stored), token, 'only the hash is stored')

    const page = await browser.get(pathOf(mail.link))
    page.assertStatus(200)
    assert.include(page.text(), email)
    assert.equal(page.header('referrer-policy'), 'no-referrer')
    const user = await User.findByOrFail('email', email)
    assert.isNull(user.emailVerifiedAt, 'a GET changes nothing')

    const confirm = await browser.submit('POST', pathOf(mail.link))
    assert.equal(confirm.status(), 302)
    await user.refresh()
    assert.isNotNull(user.emailVerifiedAt)
    const audit = await db
      .from('audit_events')
      .where('action', 'auth.email.verified')
      .where('subject_id', user.id)
      .first()
    assert.exists(audit)
  })

  test('sign-ups for one address are limited (each sends a mail): the 6th in a quarter-hour gets 429', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const browser = new Session(client)
    const email = uniqueEmail('repeat')
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      const response = await browser.submit('POST', '/signup', {
        name: 'Ada',
        email,
        password: strongPassword(),
      })
      statuses.push(response.status())
    }
    assert.deepEqual(statuses, [302, 302, 302, 302, 302, 429])
    // One verification link, then notices that the address is taken: 5 mails, never a 6th.
    assert.isAtMost([...fake.mails.sent(), ...fake.mails.queued()].length, 5)
  })

  test('sign-up with a registered address mails a notice instead of a link', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.create()
    const browser = new Session(client)
    const response = await browser.submit('POST', '/signup', {
      name: 'Eve',
      email: user.email.toUpperCase(),
      password: strongPassword(),
    })
    assert.equal(response.status(), 302)
    const [notice] = await awaitedMails(fake, SignupAttemptMail)
    assert.exists(notice)
    assert.lengthOf(capturedMails(fake, VerifyEmailMail), 0)
    notice.message.assertTextIncludes('/password-resets/new')
  })

  test('a used link cannot be used again', async ({ client, assert, cleanup }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.apply('unverified').create()
    const link = await verificationLinkFor(user, fake)
    const browser = new Session(client)
    assert.equal((await browser.submit('POST', link)).status(), 302)

    const again = await browser.submit('POST', link)
    again.assertStatus(410)
    assert.include(again.text(), 'already used')
    ;(await browser.get(link)).assertStatus(410)
  })

  test('an expired link is refused with 410 and a way forward', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.apply('unverified').create()
    const link = await verificationLinkFor(user, fake)
    await db
      .from('user_tokens')
      .where('user_id', user.id)
      .update({ expires_at: new Date(Date.now() - 1000) })
    const browser = new Session(client)

    const page = await browser.get(link)
    page.assertStatus(410)
    assert.include(page.text(), 'expired')
    assert.include(page.text(), 'href="/login')
    ;(await browser.submit('POST', link)).assertStatus(410)
    await user.refresh()
    assert.isNull(user.emailVerifiedAt)
  })

  test('an unknown or malformed link is a friendly 404', async ({ client, assert }) => {
    const browser = new Session(client)
    for (const token of ['A'.repeat(43), 'not-a-token', `${'x'.repeat(300)}`]) {
      const page = await browser.get(`/email-verifications/${token}`)
      page.assertStatus(404)
      assert.include(page.text(), 'does not work')
      ;(await browser.submit('POST', `/email-verifications/${token}`)).assertStatus(404)
    }
  })

  test('a signed-in user asks for a new link; the account page shows the state', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.apply('unverified').create()
    const browser = await signedIn(client, user)

    const account = await browser.get('/account')
    account.assertStatus(200)
    assert.include(account.text(), 'Not verified')
    assert.include(account.text(), 'action="/email-verifications"')

    const response = await browser.submit('POST', '/email-verifications')
    assert.equal(response.status(), 302)
    assert.lengthOf(capturedMails(fake, VerifyEmailMail, user.email), 1)
  })

  test('asking for new links too often → 429 with Retry-After', async ({
    client,
    assert,
    cleanup,
  }) => {
    fakeMail(cleanup)
    const browser = await signedIn(client, await UserFactory.apply('unverified').create())
    for (let i = 0; i < 5; i++)
      assert.equal((await browser.submit('POST', '/email-verifications')).status(), 302)
    const refused = await browser.submit('POST', '/email-verifications')
    refused.assertStatus(429)
    assert.isAbove(Number(refused.header('retry-after')), 0)
  })

  test('a verified user is told so and gets no mail', async ({ client, assert, cleanup }) => {
    const fake = fakeMail(cleanup)
    const browser = await signedIn(client, await UserFactory.create())
    const account = await browser.get('/account')
    assert.include(account.text(), 'Verified')
    assert.equal((await browser.submit('POST', '/email-verifications')).status(), 302)
    assert.lengthOf(capturedMails(fake, VerifyEmailMail), 0)
  })

  test('asking for a new link needs a signed-in user', async ({ client, assert }) => {
    const browser = new Session(client)
    const response = await browser.submit('POST', '/email-verifications')
    assert.equal(response.status(), 302)
    assert.match(response.header('location') ?? '', /^\/login/)
  })
})
