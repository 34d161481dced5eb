import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import mail from '@adonisjs/mail/services/main'
import { extractLinks } from '#platform'
import { PasswordResetMail } from '#auth/services/auth_mail'
import { uniqueEmail } from '#database/factories/user_factory'

test.group('platform / dev mailbox transport', () => {
  test('with no SMTP_URL, mail goes to the dev mailbox', async ({ assert }) => {
    assert.equal(mail.config.default, process.env.SMTP_URL ? 'smtp' : 'dev_mailbox')
  })

  test('stores a sent message: recipients, subject, text and HTML', async ({ assert }) => {
    const to = uniqueEmail('inbox')
    const response = await mail.use('dev_mailbox').send((message) => {
      message
        .to(to)
        .cc('copy@example.test')
        .subject('Hello there')
        .text('Visit http://localhost:3333/x.')
        .html('<p>Visit</p>')
    })
    assert.isString(response.messageId)
    const row = await db
      .from('dev_mailbox')
      .where('subject', 'Hello there')
      .whereRaw('"to" like ?', [`${to}%`])
      .firstOrFail()
    assert.equal(row.to, `${to}, copy@example.test`)
    assert.equal(row.text, 'Visit http://localhost:3333/x.')
    assert.equal(row.html, '<p>Visit</p>')
  })

  test('renders class-based mails from their Edge templates', async ({ assert }) => {
    const to = uniqueEmail('rendered')
    const link = 'http://localhost:3333/password-resets/abc'
    await mail.use('dev_mailbox').send(new PasswordResetMail(to, 'Grace <Hopper>', link))
    const row = await db.from('dev_mailbox').where('to', to).firstOrFail()
    assert.equal(row.subject, 'Reset your Agora password')
    assert.include(row.text, link)
    assert.include(row.text, 'Hello Grace <Hopper>,', 'the text part is not HTML-escaped')
    assert.include(row.html, `href="${link}"`)
    assert.include(row.html, 'Grace &lt;Hopper&gt;', 'the HTML part is escaped')
    assert.deepEqual(extractLinks(row.text), [link])
  })

  test('extracts links without trailing punctuation or duplicates', async ({ assert }) => {
    assert.deepEqual(
      extractLinks('Go to https://a.test/x. Or (http://b.test/y), again https://a.test/x'),
      ['https://a.test/x', 'http://b.test/y']
    )
    assert.deepEqual(extractLinks(null), [])
    assert.deepEqual(extractLinks('javascript:alert(1) ftp://x'), [])
  })
})
