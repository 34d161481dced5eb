import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import { PasswordResetMail } from '#auth/services/auth_mail'
import { Session, signedIn } from '#tests/helpers/session'
import { capturedMails, fakeMail, pathOf } from '#tests/helpers/mail'
import { strongPassword, USER_PASSWORD } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

const SESSION_COOKIE = 'agora-session'

/** A browser signed in with "remember me", as one that was then closed (session cookie gone). */
async function rememberedBrowser(client: ApiClient, email: string) {
  const browser = new Session(client)
  const login = await browser.login(email, USER_PASSWORD, { remember: 'on' })
  if (login.status() !== 302 || !browser.cookies.has('remember_web'))
    throw new Error('remember-me login failed')
  browser.cookies.delete(SESSION_COOKIE)
  return browser
}

async function reset(client: ApiClient, email: string) {
  const browser = new Session(client)
  await browser.submit('POST', '/password-resets', { email })
  return browser
}

test.group('auth / after a compromise: password reset and API tokens', () => {
  test('the reset form offers, checked, to revoke the API tokens; ticked, they stop working', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const { owner, token } = await WorkspaceFactory.create({ token: true })
    ;(await client.get('/api/v1/me').bearerToken(token)).assertStatus(200)

    const browser = await reset(client, owner.email)
    const [mail] = capturedMails(fake, PasswordResetMail, owner.email)
    const form = await browser.get(pathOf(mail.link))
    assert.match(
      form.text(),
      /<input type="checkbox" name="revoke_api_tokens" value="1"\s+checked>/
    )
    assert.include(form.text(), 'your API token')

    const done = await browser.submit('POST', pathOf(mail.link), {
      password: strongPassword(),
      revoke_api_tokens: '1',
    })
    assert.equal(done.status(), 302)
    ;(await client.get('/api/v1/me').bearerToken(token)).assertStatus(401)
    const left = await db.from('auth_access_tokens').where('tokenable_id', owner.id)
    assert.lengthOf(left, 0)
  })

  test('unticked, the reset keeps the API tokens (sessions still end)', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const { owner, token } = await WorkspaceFactory.create({ token: true })
    const elsewhere = await signedIn(client, owner)
    const browser = await reset(client, owner.email)
    const [mail] = capturedMails(fake, PasswordResetMail, owner.email)
    await browser.get(pathOf(mail.link))
    const done = await browser.submit('POST', pathOf(mail.link), { password: strongPassword() })
    assert.equal(done.status(), 302)
    ;(await client.get('/api/v1/me').bearerToken(token)).assertStatus(200)
    assert.equal((await elsewhere.get('/account')).status(), 302)
  })
})

test.group('auth / remember-me tokens belong to their session', () => {
  test('a browser restored from remember-me continues its session row', async ({
    client,
    assert,
  }) => {
    const { owner } = await WorkspaceFactory.create()
    const phone = await rememberedBrowser(client, owner.email)
    const before = await db.from('user_sessions').where('user_id', owner.id)
    assert.lengthOf(before, 1)
    assert.isNotNull(before[0].remember_token_id)

    ;(await phone.get('/account')).assertStatus(200)
    phone.cookies.delete(SESSION_COOKIE)
    ;(await phone.get('/account')).assertStatus(200)

    const after = await db.from('user_sessions').where('user_id', owner.id)
    assert.lengthOf(after, 1, 'no new session row per restore')
    const tokens = await db.from('remember_me_tokens').where('tokenable_id', owner.id)
    assert.lengthOf(tokens, 1, 'the recycled token replaced the old one')
    assert.equal(after[0].remember_token_id, tokens[0].id)
  })

  test('"log out this session" also kills its remember-me token', async ({ client, assert }) => {
    const { owner } = await WorkspaceFactory.create()
    const laptop = await signedIn(client, owner)
    const phone = await rememberedBrowser(client, owner.email)
    ;(await phone.get('/account')).assertStatus(200)
    const phoneRow = await db
      .from('user_sessions')
      .where('user_id', owner.id)
      .where('remembered', true)
      .firstOrFail()

    const revoke = await laptop.submit('DELETE', `/account/sessions/${phoneRow.id}`)
    assert.equal(revoke.status(), 302)
    // The closed-and-reopened phone presents only its remember-me cookie: refused.
    phone.cookies.delete(SESSION_COOKIE)
    const reopened = await phone.get('/account')
    assert.equal(reopened.status(), 302)
    assert.match(reopened.header('location') ?? '', /^\/login/)
    assert.lengthOf(await db.from('remember_me_tokens').where('tokenable_id', owner.id), 0)
    ;(await laptop.get('/account')).assertStatus(200)
  })

  test("changing the password keeps this browser's remember-me token and ends the others'", async ({
    client,
    assert,
  }) => {
    const { owner } = await WorkspaceFactory.create()
    const here = new Session(client)
    await here.login(owner.email, USER_PASSWORD, { remember: 'on' })
    const other = await rememberedBrowser(client, owner.email)
    const password = strongPassword()
    await here.submit('PUT', '/account/password', { current_password: USER_PASSWORD, password })
    here.cookies.delete(SESSION_COOKIE)
    ;(await here.get('/account')).assertStatus(200)
    assert.equal((await other.get('/account')).status(), 302)
  })
})

test.group('auth / sudo mode for API tokens', () => {
  async function tokenForm(browser: Session, tenantId: string, fields: Record<string, unknown>) {
    await browser.get('/account/tokens')
    return browser.submit('POST', '/account/tokens', {
      name: 'ci',
      tenant: tenantId,
      expires: '30d',
      ...fields,
    })
  }
  const tokensOf = (userId: string) => db.from('auth_access_tokens').where('tokenable_id', userId)

  test('a fresh login creates a token without the password again', async ({ client, assert }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const browser = await signedIn(client, owner)
    const page = await browser.get('/account/tokens')
    assert.notInclude(page.text(), 'name="password"')
    await tokenForm(browser, tenant.id, {})
    assert.lengthOf(await tokensOf(owner.id), 1)
  })

  test('a session restored from remember-me must enter the password, then may go on', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const browser = await rememberedBrowser(client, owner.email)
    const page = await browser.get('/account/tokens')
    page.assertStatus(200)
    assert.include(page.text(), 'name="password"')

    const missing = await tokenForm(browser, tenant.id, {})
    assert.equal(missing.status(), 302)
    assert.include((await browser.follow(missing)).text(), 'Enter your password to create a token.')
    const wrong = await tokenForm(browser, tenant.id, { password: 'not my password' })
    assert.include((await browser.follow(wrong)).text(), 'Your password is not correct.')
    assert.lengthOf(await tokensOf(owner.id), 0)

    await tokenForm(browser, tenant.id, { password: USER_PASSWORD })
    assert.lengthOf(await tokensOf(owner.id), 1)
    await tokenForm(browser, tenant.id, {})
    assert.lengthOf(await tokensOf(owner.id), 2, 'confirmed for the next 15 minutes')
  })

  test('15 minutes after the last password entry, the password is asked again', async ({
    client,
    assert,
    cleanup,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const browser = await signedIn(client, owner)
    const realNow = Date.now
    Date.now = () => realNow() + 16 * 60 * 1000
    cleanup(() => {
      Date.now = realNow
    })
    const refused = await tokenForm(browser, tenant.id, {})
    assert.equal(refused.status(), 302)
    assert.lengthOf(await tokensOf(owner.id), 0)
    await tokenForm(browser, tenant.id, { password: USER_PASSWORD })
    assert.lengthOf(await tokensOf(owner.id), 1)
  })
})
