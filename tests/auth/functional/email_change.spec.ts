import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { EmailChangedMail, VerifyEmailMail } from '#auth/services/auth_mail'
import { signedIn } from '#tests/helpers/session'
import { capturedMails, fakeMail, pathOf } from '#tests/helpers/mail'
import { UserFactory, uniqueEmail, USER_PASSWORD } from '#database/factories/user_factory'

test.group('auth / email change', () => {
  test('a wrong current password changes nothing and mails nothing', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.create()
    const browser = await signedIn(client, user)
    await browser.get('/account')

    const response = await browser.submit('PUT', '/account/email', {
      new_email: uniqueEmail('new'),
      email_password: 'wrong password!',
    })
    assert.equal(response.status(), 302)
    const page = await browser.get('/account')
    assert.include(page.text(), 'Your current password is not correct.')
    assert.lengthOf(capturedMails(fake, VerifyEmailMail), 0)
    const tokens = await db.from('user_tokens').where('user_id', user.id).count('* as total')
    assert.equal(Number(tokens[0].total), 0)
  })

  test('the new address gets a link; the account changes only once it is confirmed', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.create()
    const oldEmail = user.email
    const newEmail = uniqueEmail('moved')
    const browser = await signedIn(client, user)

    const response = await browser.submit('PUT', '/account/email', {
      new_email: newEmail,
      email_password: USER_PASSWORD,
    })
    assert.equal(response.status(), 302)
    assert.equal(response.header('location'), '/account#email')
    const [mail] = capturedMails(fake, VerifyEmailMail, newEmail)
    assert.isTrue(mail.change)
    assert.equal(mail.subject, 'Confirm your new email address')
    await user.refresh()
    assert.equal(user.email, oldEmail, 'nothing changes before the confirmation')

    const page = await browser.get(pathOf(mail.link))
    page.assertStatus(200)
    assert.include(page.text(), newEmail)
    await user.refresh()
    assert.equal(user.email, oldEmail, 'opening the link changes nothing')

    const confirmed = await browser.submit('POST', pathOf(mail.link))
    assert.equal(confirmed.status(), 302)
    assert.equal(confirmed.header('location'), '/account')
    await user.refresh()
    assert.equal(user.email, newEmail)
    assert.isNotNull(user.emailVerifiedAt)

    const [notice] = capturedMails(fake, EmailChangedMail, oldEmail)
    assert.exists(notice, 'the old address is told')
    notice.message.assertTextIncludes(newEmail)
    const audit = await db
      .from('audit_events')
      .where('action', 'auth.email.changed')
      .where('subject_id', user.id)
      .firstOrFail()
    assert.deepEqual(audit.changes, { email: [oldEmail, newEmail] })

    // The account keeps working under its new address.
    await signedIn(client, { email: newEmail })
  })

  test('a taken address gets the very same response, no mail and no change', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const other = await UserFactory.apply('unverified').create()
    const user = await UserFactory.create()
    const browser = await signedIn(client, user)

    const free = uniqueEmail('free')
    const toFree = await browser.submit('PUT', '/account/email', {
      new_email: free,
      email_password: USER_PASSWORD,
    })
    const freePage = (await browser.get('/account')).text()
    const toTaken = await browser.submit('PUT', '/account/email', {
      new_email: other.email.toUpperCase(),
      email_password: USER_PASSWORD,
    })
    const takenPage = (await browser.get('/account')).text()

    assert.equal(toTaken.status(), toFree.status())
    assert.equal(toTaken.header('location'), toFree.header('location'))
    const flash = (page: string, email: string) =>
      /We sent a confirmation link to (\S+)\. Your address changes/
        .exec(page)?.[0]
        .replace(email, '<email>')
    assert.isString(flash(freePage, free))
    assert.equal(flash(takenPage, other.email.toUpperCase()), flash(freePage, free))

    assert.lengthOf(capturedMails(fake, VerifyEmailMail, free), 1)
    assert.lengthOf(capturedMails(fake, VerifyEmailMail, other.email.toUpperCase()), 0)
    assert.lengthOf(capturedMails(fake, VerifyEmailMail, other.email), 0)
    const tokens = await db
      .from('user_tokens')
      .where('user_id', user.id)
      .whereRaw('lower(email) = lower(?)', [other.email])
      .first()
    assert.notExists(tokens)
  })

  test('an address taken after the link was sent is refused at confirmation (409)', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.create()
    const oldEmail = user.email
    const wanted = uniqueEmail('contested')
    const browser = await signedIn(client, user)
    await browser.submit('PUT', '/account/email', {
      new_email: wanted,
      email_password: USER_PASSWORD,
    })
    const [mail] = capturedMails(fake, VerifyEmailMail, wanted)

    await UserFactory.apply('unverified').merge({ email: wanted.toUpperCase() }).create()
    const response = await browser.submit('POST', pathOf(mail.link))
    response.assertStatus(409)
    assert.include(response.text(), 'already in use')
    await user.refresh()
    assert.equal(user.email, oldEmail)
  })

  test('a newer change request, and the change itself, make older links expire', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.apply('unverified').create()
    const browser = await signedIn(client, user)
    await browser.submit('POST', '/email-verifications')
    const [ownLink] = capturedMails(fake, VerifyEmailMail, user.email)
    const first = uniqueEmail('first')
    const second = uniqueEmail('second')
    await browser.submit('PUT', '/account/email', {
      new_email: first,
      email_password: USER_PASSWORD,
    })
    await browser.submit('PUT', '/account/email', {
      new_email: second,
      email_password: USER_PASSWORD,
    })
    const [firstMail] = capturedMails(fake, VerifyEmailMail, first)
    const [secondMail] = capturedMails(fake, VerifyEmailMail, second)

    ;(await browser.get(pathOf(firstMail.link))).assertStatus(410)
    assert.equal((await browser.submit('POST', pathOf(secondMail.link))).status(), 302)
    // A link to the old address must not switch the account back.
    ;(await browser.submit('POST', pathOf(ownLink.link))).assertStatus(410)
    await user.refresh()
    assert.equal(user.email, second)
  })

  test('the same address or a malformed one is a form error', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const user = await UserFactory.create()
    const browser = await signedIn(client, user)
    await browser.get('/account')

    await browser.submit('PUT', '/account/email', {
      new_email: user.email.toUpperCase(),
      email_password: USER_PASSWORD,
    })
    assert.include((await browser.get('/account')).text(), 'This is already your email address.')
    const malformed = await browser.submit('PUT', '/account/email', {
      new_email: 'nope',
      email_password: USER_PASSWORD,
    })
    assert.equal(malformed.status(), 302)
    assert.lengthOf(capturedMails(fake, VerifyEmailMail), 0)
  })
})
