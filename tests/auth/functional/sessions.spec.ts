import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { setUserDisabled, User } from '#auth'
import { Session, signedIn } from '#tests/helpers/session'
import { UserFactory, USER_PASSWORD } from '#database/factories/user_factory'
import { randomUUID } from 'node:crypto'

test.group('auth / sign up', () => {
  test('creates an account with a hashed Argon2id password and asks to confirm the email', async ({
    client,
    assert,
  }) => {
    const web = new Session(client)
    await web.get('/signup')
    const email = `New.Person-${randomUUID()}@Example.test`
    const response = await web.submit('POST', '/signup', {
      name: 'New Person',
      email,
      password: 'a sufficiently long passphrase',
    })
    assert.equal(response.status(), 302)
    assert.equal(response.header('location'), '/login')
    const user = await User.query().whereRaw('lower(email) = lower(?)', [email]).firstOrFail()
    assert.match(user.password, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    assert.isNull(user.emailVerifiedAt)
  })

  test('an email already registered (any case) gets the very same response and no second account', async ({
    client,
    assert,
  }) => {
    const existing = await UserFactory.create()
    const fresh = new Session(client)
    await fresh.get('/signup')
    const forNew = await fresh.submit('POST', '/signup', {
      name: 'X',
      email: `n-${randomUUID()}@example.test`,
      password: 'a sufficiently long passphrase',
    })
    const again = new Session(client)
    await again.get('/signup')
    const forTaken = await again.submit('POST', '/signup', {
      name: 'X',
      email: existing.email.toUpperCase(),
      password: 'a sufficiently long passphrase',
    })
    assert.equal(forTaken.status(), forNew.status())
    assert.equal(forTaken.header('location'), forNew.header('location'))
    const count = await db
      .from('users')
      .whereRaw('lower(email) = lower(?)', [existing.email])
      .count('* as n')
    assert.equal(Number(count[0].n), 1)
  })

  test('refuses short, overlong and common passwords with a field message', async ({
    client,
    assert,
  }) => {
    for (const password of ['short', 'x'.repeat(129), 'password123', 'qwertyuiop']) {
      const web = new Session(client)
      await web.get('/signup')
      const email = `p-${randomUUID()}@example.test`
      const response = await web.submit('POST', '/signup', { name: 'P', email, password })
      assert.equal(response.status(), 302)
      assert.notEqual(response.header('location'), '/login', password)
      assert.isNull(await User.query().where('email', email).first())
    }
  })

  test('rejects an invalid email and a missing name without a 500', async ({ client, assert }) => {
    const web = new Session(client)
    await web.get('/signup')
    const response = await web.submit('POST', '/signup', {
      name: '',
      email: 'not-an-email',
      password: 'a sufficiently long passphrase',
    })
    assert.equal(response.status(), 302)
    const page = await web.get('/signup')
    assert.include(page.text(), 'aria-invalid="true"')
  })
})

test.group('auth / log in and out', () => {
  test('logs in, rotates the session id, and reaches /account', async ({ client, assert }) => {
    const user = await UserFactory.create()
    const web = new Session(client)
    await web.get('/login')
    const before = web.cookies.get('agora-session')
    const response = await web.login(user.email.toUpperCase())
    assert.equal(response.status(), 302)
    assert.equal(response.header('location'), '/home')
    assert.notEqual(web.cookies.get('agora-session'), before)
    const account = await web.get('/account')
    assert.equal(account.status(), 200)
    assert.include(account.text(), 'value="Test User"')
  })

  test('wrong password and unknown email get the same answer', async ({ client, assert }) => {
    const user = await UserFactory.create()
    const wrong = await new Session(client).login(user.email, 'not the right password')
    const unknown = await new Session(client).login(
      `nobody-${randomUUID()}@example.test`,
      'not the right password'
    )
    assert.equal(wrong.status(), 422)
    assert.equal(unknown.status(), 422)
    assert.include(wrong.text(), 'Email or password is incorrect.')
    assert.include(unknown.text(), 'Email or password is incorrect.')
  })

  test('repeated failures for one email from one address → 429 with Retry-After, even with the right password', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const browser = new Session(client)
    for (let i = 0; i < 5; i++) await browser.login(user.email, 'wrong password!')
    const blocked = await browser.login(user.email, USER_PASSWORD)
    assert.equal(blocked.status(), 429)
    assert.isAbove(Number(blocked.header('retry-after')), 0)
    assert.include(blocked.text(), 'Too many attempts')
  })

  test('a session idle for an hour ends; last-seen is stamped at most once a minute', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const web = await signedIn(client, user)
    const realNow = Date.now
    const minutes = (n: number) => n * 60_000
    const at = async (offset: number) => {
      const start = realNow()
      Date.now = () => realNow() - start + startedAt + offset
      return web.get('/account')
    }
    const startedAt = realNow()
    try {
      // Seen at 0 (login), then 59 min later: still in, and stamped anew.
      assert.equal((await at(minutes(59))).status(), 200)
      // 30 s after that stamp: in, not stamped again (one write a minute).
      assert.equal((await at(minutes(59.5))).status(), 200)
      // 59 min after the stamp: in, stamped at 118; 30 s later in, not stamped.
      assert.equal((await at(minutes(118))).status(), 200)
      assert.equal((await at(minutes(118.5))).status(), 200)
      // 60¼ min after the stamp at 118 (59¾ after the last request): ended.
      const idle = await at(minutes(178.25))
      assert.equal(idle.status(), 302)
      assert.match(idle.header('location') ?? '', /^\/login/)
    } finally {
      Date.now = realNow
    }
    assert.equal((await web.get('/account')).status(), 302)
  })

  test('a disabled user cannot log in, and loses an existing session at once', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const web = await signedIn(client, user)
    assert.equal((await web.get('/account')).status(), 200)
    // As an admin does it (the pages read users from a cache that this action clears).
    const admin = await UserFactory.merge({ platformAdmin: true }).create()
    await setUserDisabled(user.id, true, { actorId: admin.id })
    const after = await web.get('/account')
    assert.equal(after.status(), 302)
    assert.match(after.header('location') ?? '', /^\/login/)
    assert.equal((await new Session(client).login(user.email)).status(), 422)
  })

  test('log out is a DELETE with CSRF; a GET cannot log out', async ({ client, assert }) => {
    const user = await UserFactory.create()
    const web = await signedIn(client, user)
    assert.equal((await web.get('/session')).status(), 404)
    assert.equal((await web.get('/account')).status(), 200)
    const out = await web.submit('DELETE', '/session')
    assert.equal(out.status(), 302)
    assert.equal((await web.get('/account')).status(), 302)
  })

  test('signed-out visitors are sent to /login and back afterwards (no open redirect)', async ({
    client,
    assert,
  }) => {
    const web = new Session(client)
    const page = await web.get('/account')
    assert.equal(page.header('location'), '/login?next=%2Faccount')
    const user = await UserFactory.create()
    await web.get('/login?next=%2Faccount%2Ftokens')
    const viaNext = await web.submit('POST', '/login', {
      email: user.email,
      password: USER_PASSWORD,
      next: '/account/tokens',
    })
    assert.equal(viaNext.header('location'), '/account/tokens')
    const other = await new Session(client).login(user.email, USER_PASSWORD, {
      next: '//evil.example/x',
    })
    assert.equal(other.header('location'), '/home')
  })

  test('a login form post without CSRF token changes nothing', async ({ client, assert }) => {
    const user = await UserFactory.create()
    const response = await client
      .post('/login')
      .form({ email: user.email, password: USER_PASSWORD })
      .redirects(0)
    assert.notEqual(response.header('location'), '/home')
    const sessions = await db.from('user_sessions').where('user_id', user.id)
    assert.lengthOf(sessions, 0)
  })
})

test.group('auth / sessions and password change', () => {
  test('a session can be logged out from another browser', async ({ client, assert }) => {
    const user = await UserFactory.create()
    const laptop = new Session(client)
    const phone = new Session(client)
    await laptop.login(user.email)
    await phone.login(user.email)
    const phoneSession = await db
      .from('user_sessions')
      .where('user_id', user.id)
      .orderBy('created_at', 'desc')
      .first()
    const revoke = await laptop.submit('DELETE', `/account/sessions/${phoneSession.id}`)
    assert.equal(revoke.status(), 302)
    assert.equal((await phone.get('/account')).status(), 302)
    assert.equal((await laptop.get('/account')).status(), 200)
  })

  test("another user's session id is not found and untouched", async ({ client, assert }) => {
    const [alice, bob] = [await UserFactory.create(), await UserFactory.create()]
    const aliceWeb = new Session(client)
    const bobWeb = new Session(client)
    await aliceWeb.login(alice.email)
    await bobWeb.login(bob.email)
    const bobSession = await db.from('user_sessions').where('user_id', bob.id).firstOrFail()
    const attempt = await aliceWeb.submit('DELETE', `/account/sessions/${bobSession.id}`)
    assert.equal(attempt.status(), 404)
    assert.equal((await aliceWeb.submit('DELETE', '/account/sessions/not-a-uuid')).status(), 404)
    assert.equal((await bobWeb.get('/account')).status(), 200)
  })

  test('changing the password needs the current one and logs out every other session', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const here = new Session(client)
    const elsewhere = new Session(client)
    await here.login(user.email)
    await elsewhere.login(user.email)
    const refused = await here.submit('PUT', '/account/password', {
      current_password: 'wrong one',
      password: 'another long passphrase',
    })
    assert.equal(refused.status(), 302)
    assert.equal((await elsewhere.get('/account')).status(), 200)
    await here.submit('PUT', '/account/password', {
      current_password: USER_PASSWORD,
      password: 'another long passphrase',
    })
    assert.equal((await here.get('/account')).status(), 200)
    assert.equal((await elsewhere.get('/account')).status(), 302)
    assert.equal(
      (await new Session(client).login(user.email, 'another long passphrase')).status(),
      302
    )
  })

  test('the profile updates name and time zone, and refuses an unknown zone', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const web = await signedIn(client, user)
    await web.submit('PUT', '/account', { name: 'Renamed', timeZone: 'Europe/Paris' })
    await user.refresh()
    assert.equal(user.name, 'Renamed')
    assert.equal(user.timeZone, 'Europe/Paris')
    await web.submit('PUT', '/account', { name: 'Renamed', timeZone: 'Mars/Olympus' })
    await user.refresh()
    assert.equal(user.timeZone, 'Europe/Paris')
  })
})
