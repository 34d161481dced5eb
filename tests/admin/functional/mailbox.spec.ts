import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { Session, signedIn } from '#tests/helpers/session'
import { UserFactory, uniqueEmail } from '#database/factories/user_factory'

/** Stores a dev-mailbox message directly and returns its id. */
async function storedMail(fields: { to: string; subject: string; text?: string; html?: string }) {
  const [row] = await db
    .table('dev_mailbox')
    .insert({ text: null, html: null, ...fields })
    .returning('id')
  return String(row.id ?? row)
}

test.group('admin / dev mailbox', () => {
  test('is a 404 for visitors and for users who are not platform admins', async ({
    client,
    assert,
  }) => {
    const id = await storedMail({ to: uniqueEmail(), subject: 'Secret' })
    const visitor = new Session(client)
    for (const url of ['/admin/mailbox', `/admin/mailbox/${id}`]) {
      const response = await visitor.get(url)
      response.assertStatus(404)
      assert.notInclude(response.text(), 'Secret')
    }
    const member = await signedIn(client, await UserFactory.create())
    for (const url of ['/admin/mailbox', `/admin/mailbox/${id}`]) {
      const response = await member.get(url)
      response.assertStatus(404)
      assert.notInclude(response.text(), 'Secret')
    }
  })

  test('lists messages newest first and shows one with its links', async ({ client, assert }) => {
    const to = uniqueEmail('reader')
    await storedMail({ to, subject: 'Older message' })
    const id = await storedMail({
      to,
      subject: 'Newer message',
      text: 'Open http://localhost:3333/email-verifications/abc, then <script>alert(1)</script>.',
      html: '<p onclick="x()">Hi</p>',
    })
    const admin = await signedIn(client, await UserFactory.apply('platformAdmin').create())

    const list = await admin.get(`/admin/mailbox?to=${encodeURIComponent(to)}`)
    list.assertStatus(200)
    const text = list.text()
    assert.isBelow(text.indexOf('Newer message'), text.indexOf('Older message'))
    assert.include(text, `href="/admin/mailbox/${id}"`)

    const message = await admin.get(`/admin/mailbox/${id}`)
    message.assertStatus(200)
    assert.include(message.text(), 'href="http://localhost:3333/email-verifications/abc"')
    assert.notInclude(message.text(), '<script>alert(1)</script>', 'the text is escaped')
    assert.notInclude(message.text(), '<p onclick', 'the HTML is shown as source, not rendered')
  })

  test('pages through the list and survives odd input', async ({ client, assert }) => {
    const to = uniqueEmail('pager')
    for (let i = 0; i < 27; i++) await storedMail({ to, subject: `Message ${i}` })
    const admin = await signedIn(client, await UserFactory.apply('platformAdmin').create())

    const first = await admin.get(`/admin/mailbox?to=${encodeURIComponent(to)}`)
    assert.include(first.text(), 'Message 26')
    assert.notInclude(first.text(), 'Message 1<')
    assert.include(first.text(), 'rel="next"')
    const second = await admin.get(`/admin/mailbox?to=${encodeURIComponent(to)}&page=2`)
    assert.include(second.text(), 'Message 1<')
    assert.include(second.text(), 'rel="prev"')

    for (const url of [
      '/admin/mailbox?page=abc',
      '/admin/mailbox?page=-4',
      '/admin/mailbox?page=99999999999999999999',
      '/admin/mailbox?to=%25_%5C',
    ]) {
      ;(await admin.get(url)).assertStatus(200)
    }
    for (const url of [
      '/admin/mailbox/0',
      '/admin/mailbox/abc',
      '/admin/mailbox/99999999999',
      `/admin/mailbox/${'9'.repeat(40)}`,
    ]) {
      ;(await admin.get(url)).assertStatus(404)
    }
  })
})
