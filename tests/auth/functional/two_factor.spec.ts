import { createHash } from 'node:crypto'
import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import { User } from '#auth'
import { totpStep } from '#auth/services/totp'
import { PENDING_LOGIN_TTL_MS } from '#auth/controllers/two_factor_challenge_controller'
import { UserFactory, USER_PASSWORD } from '#database/factories/user_factory'
import { Session, signedIn } from '#tests/helpers/session'
import {
  awayFromStepEdge,
  enableTwoFactor,
  storedSecret,
  totpCode,
  wrongTotpCode,
} from '#tests/helpers/two_factor'

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex')

async function auditActions(userId: string) {
  const rows = await db
    .from('audit_events')
    .where('subject_id', userId)
    .orderBy('id')
    .select('action')
  return rows.map((row) => row.action as string)
}

/** Password step done: the browser now holds a pending two-factor login. */
async function atChallenge(
  client: ApiClient,
  user: User,
  extra: Record<string, unknown> = { next: '/account' }
) {
  const web = new Session(client)
  const response = await web.login(user.email, undefined, extra)
  if (response.header('location') !== '/login/two-factor')
    throw new Error(`expected the challenge, got ${response.header('location')}`)
  return web
}

test.group('auth / two-factor enrolment', () => {
  test('the account page offers set-up, which needs the current password', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const web = await signedIn(client, user)
    const account = await web.get('/account')
    assert.include(account.text(), 'action="/account/two-factor"')
    assert.include(account.text(), 'Set up two-factor')

    for (const password of ['wrong password entirely', '', 'x'.repeat(5000)]) {
      const response = await web.submit('POST', '/account/two-factor', {
        enable_password: password,
      })
      assert.equal(response.status(), 302, password.slice(0, 10))
      assert.equal(response.header('location'), '/account#two-factor')
    }
    const page = await web.get('/account')
    assert.include(page.text(), 'aria-invalid="true"')
    await user.refresh()
    assert.isNull(user.totpSecretEncrypted)
  })

  test('enrols: a CSP-safe QR code and the key in text, a code confirms it, and the recovery codes are shown once', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const web = await signedIn(client, user)

    const setup = await web.submit('POST', '/account/two-factor', {
      enable_password: USER_PASSWORD,
    })
    assert.equal(setup.status(), 200)
    assert.equal(setup.header('cache-control'), 'no-store')
    const svg = /<svg class="qr-code"[\s\S]*?<\/svg>/.exec(setup.text())?.[0] ?? ''
    assert.isAbove(svg.length, 500)
    assert.notMatch(svg, /style/i)
    assert.notInclude(setup.header('content-security-policy'), 'unsafe-inline')

    // Manual entry: the key on the page is the one stored (encrypted) for the user.
    const shown = /id="two-factor-secret">([A-Z2-7 ]+)</.exec(setup.text())?.[1]?.replace(/ /g, '')
    assert.isString(shown)
    await user.refresh()
    assert.isNotNull(user.totpSecretEncrypted)
    assert.notInclude(user.totpSecretEncrypted!, shown!)
    assert.equal(await storedSecret(user.id), shown)
    assert.isNull(user.totpEnabledAt)

    await awayFromStepEdge()
    const confirmed = await web.submit('PUT', '/account/two-factor', { code: totpCode(shown!) })
    assert.equal(confirmed.status(), 200)
    assert.equal(confirmed.header('cache-control'), 'no-store')
    const codes = [
      ...confirmed.text().matchAll(/<li><code>([a-z2-9]{5}-[a-z2-9]{5})<\/code><\/li>/g),
    ].map((m) => m[1])
    assert.lengthOf(codes, 10)
    assert.lengthOf(new Set(codes), 10)

    await user.refresh()
    assert.isNotNull(user.totpEnabledAt)
    assert.equal(Number(user.totpLastStep), totpStep())
    const stored = await db
      .from('recovery_codes')
      .where('user_id', user.id)
      .select('code_hash', 'used_at')
    assert.sameMembers(
      stored.map((row) => row.code_hash),
      codes.map((code) => sha256(code.replace('-', '')))
    )
    assert.isTrue(stored.every((row) => row.used_at === null))
    assert.include(await auditActions(user.id), 'auth.2fa.enabled')

    const account = await web.get('/account')
    assert.include(account.text(), 'Turn off two-factor')
    for (const code of codes) assert.notInclude(account.text(), code)
  })

  test("turning two-factor on ends the account's other sessions; this one stays", async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const web = await signedIn(client, user)
    const elsewhere = await signedIn(client, user)
    assert.equal((await elsewhere.get('/account')).status(), 200)

    const setup = await web.submit('POST', '/account/two-factor', {
      enable_password: USER_PASSWORD,
    })
    const shown = /id="two-factor-secret">([A-Z2-7 ]+)</.exec(setup.text())?.[1]?.replace(/ /g, '')
    await awayFromStepEdge()
    const confirmed = await web.submit('PUT', '/account/two-factor', { code: totpCode(shown!) })
    assert.equal(confirmed.status(), 200)

    assert.equal((await web.get('/account')).status(), 200)
    const after = await elsewhere.get('/account')
    assert.equal(after.status(), 302)
    assert.include(after.header('location') ?? '', '/login')
  })

  test('a wrong, empty, huge or non-digit confirmation code gets a message, never a 500, and leaves it off', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const web = await signedIn(client, user)
    await web.submit('POST', '/account/two-factor', {
      enable_password: USER_PASSWORD,
    })
    const secret = (await storedSecret(user.id))!

    for (const code of [
      wrongTotpCode(secret),
      '',
      'abcdef',
      '12345',
      '1234567',
      '１２３４５６',
      'x'.repeat(200_000),
    ]) {
      const response = await web.submit('PUT', '/account/two-factor', { code })
      assert.equal(response.status(), 422, code.slice(0, 10))
      assert.include(response.text(), 'aria-invalid="true"')
      assert.include(response.text(), '<svg class="qr-code"')
    }
    await user.refresh()
    assert.isNull(user.totpEnabledAt)
    assert.equal(
      await db
        .from('recovery_codes')
        .where('user_id', user.id)
        .count('* as n')
        .first()
        .then((r) => Number(r.n)),
      0
    )
  })

  test('starting again replaces the secret waiting for confirmation', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const web = await signedIn(client, user)
    await web.submit('POST', '/account/two-factor', {
      enable_password: USER_PASSWORD,
    })
    const first = await storedSecret(user.id)
    await web.submit('POST', '/account/two-factor', {
      enable_password: USER_PASSWORD,
    })
    const second = await storedSecret(user.id)
    assert.notEqual(first, second)

    await awayFromStepEdge()
    const stale = await web.submit('PUT', '/account/two-factor', { code: totpCode(first!) })
    assert.equal(stale.status(), 422)
  })

  test('a form without its CSRF token changes nothing', async ({ client, assert }) => {
    const user = await UserFactory.create()
    const web = await signedIn(client, user)
    const response = await client
      .post('/account/two-factor')
      .headers({ cookie: web.cookieHeader() })
      .form({ enable_password: USER_PASSWORD })
      .redirects(0)
    assert.notEqual(response.status(), 200)
    await user.refresh()
    assert.isNull(user.totpSecretEncrypted)
  })
})

test.group('auth / two-factor login', () => {
  test('password, then code, then the account page (end to end)', async ({ client, assert }) => {
    const user = await UserFactory.create()
    const { secret } = await enableTwoFactor(user)
    const web = new Session(client)
    const afterPassword = await web.login(user.email, undefined, { next: '/account/tokens' })
    assert.equal(afterPassword.header('location'), '/login/two-factor')

    // Not signed in yet: the account page still asks to log in.
    const tooEarly = await web.get('/account')
    assert.match(tooEarly.header('location') ?? '', /^\/login/)

    const challenge = await web.get('/login/two-factor')
    assert.equal(challenge.status(), 200)
    assert.include(challenge.text(), 'action="/login/two-factor"')
    const sessionBefore = web.cookies.get('agora-session')

    await awayFromStepEdge()
    const passed = await web.submit('POST', '/login/two-factor', { code: totpCode(secret) })
    assert.equal(passed.status(), 302)
    assert.equal(passed.header('location'), '/account/tokens')
    assert.notEqual(web.cookies.get('agora-session'), sessionBefore)

    const account = await web.get('/account')
    assert.equal(account.status(), 200)
    assert.include(account.text(), 'Turn off two-factor')
    assert.include(await auditActions(user.id), 'auth.login.succeeded')
  })

  test('a code from the previous or next 30 s step is accepted, two steps away is refused', async ({
    client,
    assert,
  }) => {
    await awayFromStepEdge()
    const early = await UserFactory.create()
    const { secret: earlySecret } = await enableTwoFactor(early)
    const web = await atChallenge(client, early)
    for (const offset of [-2, 2]) {
      const refused = await web.submit('POST', '/login/two-factor', {
        code: totpCode(earlySecret, offset),
      })
      assert.equal(refused.status(), 422, `offset ${offset}`)
    }
    const previous = await web.submit('POST', '/login/two-factor', {
      code: totpCode(earlySecret, -1),
    })
    assert.equal(previous.header('location'), '/account')

    const late = await UserFactory.create()
    const { secret: lateSecret } = await enableTwoFactor(late)
    const other = await atChallenge(client, late)
    const next = await other.submit('POST', '/login/two-factor', { code: totpCode(lateSecret, 1) })
    assert.equal(next.header('location'), '/account')
    await late.refresh()
    assert.equal(Number(late.totpLastStep), totpStep() + 1)
  })

  test('a code already used is refused (replay), and so is an older one', async ({
    client,
    assert,
  }) => {
    await awayFromStepEdge()
    const user = await UserFactory.create()
    const { secret } = await enableTwoFactor(user)
    const code = totpCode(secret)

    const first = await atChallenge(client, user)
    assert.equal(
      (await first.submit('POST', '/login/two-factor', { code })).header('location'),
      '/account'
    )

    const second = await atChallenge(client, user)
    for (const replay of [code, totpCode(secret, -1)]) {
      const refused = await second.submit('POST', '/login/two-factor', { code: replay })
      assert.equal(refused.status(), 422)
      assert.include(refused.text(), 'already used')
    }
    assert.include(await auditActions(user.id), 'auth.2fa.challenge_failed')
  })

  // Committed, so the two requests really race on PostgreSQL (the conditional UPDATE decides).
  test('two simultaneous submissions of one code: only one logs in', async ({ client, assert }) => {
    await awayFromStepEdge()
    const user = await UserFactory.create()
    try {
      const { secret } = await enableTwoFactor(user)
      const code = totpCode(secret)
      const [a, b] = [await atChallenge(client, user), await atChallenge(client, user)]
      const results = await Promise.all(
        [a, b].map((web) => web.submit('POST', '/login/two-factor', { code }))
      )
      assert.sameMembers(
        results.map((response) => response.status()),
        [302, 422]
      )
    } finally {
      await user.delete()
    }
  }).tags(['@committed'])

  test('a recovery code works once and only once', async ({ client, assert }) => {
    const user = await UserFactory.create()
    const { recoveryCodes } = await enableTwoFactor(user)
    const typed = ` ${recoveryCodes[3].toUpperCase().replace('-', ' - ')} `

    const first = await atChallenge(client, user)
    const passed = await first.submit('POST', '/login/two-factor', { code: typed })
    assert.equal(passed.header('location'), '/account')
    const row = await db
      .from('recovery_codes')
      .where('user_id', user.id)
      .where('code_hash', sha256(recoveryCodes[3].replace('-', '')))
      .first()
    assert.isNotNull(row.used_at)
    assert.include(await auditActions(user.id), 'auth.2fa.recovery_code_used')

    const second = await atChallenge(client, user)
    const refused = await second.submit('POST', '/login/two-factor', { code: recoveryCodes[3] })
    assert.equal(refused.status(), 422)
    const another = await second.submit('POST', '/login/two-factor', { code: recoveryCodes[4] })
    assert.equal(another.header('location'), '/account')
  })

  test('empty, huge and malformed codes get a message on the challenge page, never a 500', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    await enableTwoFactor(user)
    const web = await atChallenge(client, user)
    for (const code of [
      '',
      '   ',
      'abc',
      '12 34',
      'x'.repeat(200_000),
      '<script>alert(1)</script>',
    ]) {
      const response = await web.submit('POST', '/login/two-factor', { code })
      assert.equal(response.status(), 422, code.slice(0, 10))
      assert.include(response.text(), 'Enter the 6-digit code')
      assert.notInclude(response.text(), '<script>alert(1)')
    }
    const missing = await web.submit('POST', '/login/two-factor', {})
    assert.equal(missing.status(), 422)
  })

  test('the challenge without a pending login sends you to /login with a message', async ({
    client,
    assert,
  }) => {
    const web = new Session(client)
    const page = await web.get('/login/two-factor')
    assert.equal(page.status(), 302)
    assert.equal(page.header('location'), '/login')
    assert.include((await web.get('/login')).text(), 'Please log in first.')

    const post = await web.submit('POST', '/login/two-factor', { code: '123456' })
    assert.equal(post.header('location'), '/login')
  })

  test('a pending login older than five minutes must start again', async ({ client, assert }) => {
    const user = await UserFactory.create()
    const { secret } = await enableTwoFactor(user)
    const web = await atChallenge(client, user)
    const realNow = Date.now
    Date.now = () => realNow() + PENDING_LOGIN_TTL_MS + 1000
    try {
      const page = await web.get('/login/two-factor')
      assert.equal(page.header('location'), '/login')
      const post = await web.submit('POST', '/login/two-factor', { code: totpCode(secret) })
      assert.equal(post.header('location'), '/login')
    } finally {
      Date.now = realNow
    }
    assert.include((await web.get('/login')).text(), 'That login expired')
    const afterwards = await web.get('/login/two-factor')
    assert.equal(afterwards.header('location'), '/login')
  })

  test('too many wrong codes → 429 with Retry-After, shown on the page, and even the right code waits', async ({
    client,
    assert,
  }) => {
    await awayFromStepEdge(6000)
    const user = await UserFactory.create()
    const { secret } = await enableTwoFactor(user)
    const web = await atChallenge(client, user)
    let wrongBeforeBlock = 0
    let blocked: Awaited<ReturnType<typeof web.submit>> | undefined
    for (let attempt = 0; attempt < 10 && !blocked; attempt++) {
      const response = await web.submit('POST', '/login/two-factor', {
        code: wrongTotpCode(secret),
      })
      if (response.status() === 429) blocked = response
      else wrongBeforeBlock++
    }
    assert.isDefined(blocked)
    assert.isAtLeast(wrongBeforeBlock, 5)
    assert.isAbove(Number(blocked!.header('retry-after')), 0)
    assert.include(blocked!.text(), 'Too many attempts')

    const right = await web.submit('POST', '/login/two-factor', { code: totpCode(secret) })
    assert.equal(right.status(), 429)
    await user.refresh()
    assert.isTrue(user.totpLastStep === null || Number(user.totpLastStep) < totpStep())
  })
})

test.group('auth / two-factor management', () => {
  test('turning it off needs the current password and a valid code', async ({ client, assert }) => {
    await awayFromStepEdge()
    const user = await UserFactory.create()
    const { secret } = await enableTwoFactor(user)
    const web = await atChallenge(client, user)
    await web.submit('POST', '/login/two-factor', { code: totpCode(secret) })

    const attempts = [
      { disable_password: 'not my password at all', disable_code: totpCode(secret, 1) },
      { disable_password: USER_PASSWORD, disable_code: wrongTotpCode(secret) },
      { disable_password: USER_PASSWORD, disable_code: totpCode(secret) }, // just used to log in
      { disable_password: USER_PASSWORD, disable_code: '' },
      { disable_password: '', disable_code: totpCode(secret, 1) },
      { disable_password: USER_PASSWORD, disable_code: 'y'.repeat(100_000) },
    ]
    for (const form of attempts) {
      const response = await web.submit('DELETE', '/account/two-factor', form)
      assert.equal(response.status(), 302)
      assert.equal(response.header('location'), '/account#two-factor')
      await user.refresh()
      assert.isNotNull(user.totpEnabledAt, JSON.stringify(form).slice(0, 80))
    }

    const off = await web.submit('DELETE', '/account/two-factor', {
      disable_password: USER_PASSWORD,
      disable_code: totpCode(secret, 1),
    })
    assert.equal(off.header('location'), '/account#two-factor')
    await user.refresh()
    assert.isNull(user.totpEnabledAt)
    assert.isNull(user.totpSecretEncrypted)
    assert.isNull(user.totpLastStep)
    assert.equal(
      await db
        .from('recovery_codes')
        .where('user_id', user.id)
        .count('* as n')
        .first()
        .then((r) => Number(r.n)),
      0
    )
    assert.include(await auditActions(user.id), 'auth.2fa.disabled')

    // Logging in now needs the password only.
    const again = new Session(client)
    assert.equal(
      (await again.login(user.email, undefined, { next: '/account' })).header('location'),
      '/account'
    )
  })

  test('a recovery code can also turn it off', async ({ client, assert }) => {
    const user = await UserFactory.create()
    const { recoveryCodes } = await enableTwoFactor(user)
    const web = await atChallenge(client, user)
    await web.submit('POST', '/login/two-factor', { code: recoveryCodes[0] })
    const off = await web.submit('DELETE', '/account/two-factor', {
      disable_password: USER_PASSWORD,
      disable_code: recoveryCodes[1],
    })
    assert.equal(off.status(), 302)
    await user.refresh()
    assert.isNull(user.totpEnabledAt)
  })

  test('new recovery codes need the password and replace every old code', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const { recoveryCodes: old } = await enableTwoFactor(user)
    const web = await atChallenge(client, user)
    await web.submit('POST', '/login/two-factor', { code: old[0] })

    const refused = await web.submit('POST', '/account/two-factor/recovery-codes', {
      regenerate_password: 'wrong password here',
    })
    assert.equal(refused.header('location'), '/account#two-factor')
    const empty = await web.submit('POST', '/account/two-factor/recovery-codes', {})
    assert.equal(empty.header('location'), '/account#two-factor')
    assert.equal(
      await db
        .from('recovery_codes')
        .where('user_id', user.id)
        .whereNull('used_at')
        .count('* as n')
        .first()
        .then((r) => Number(r.n)),
      9
    )

    const page = await web.submit('POST', '/account/two-factor/recovery-codes', {
      regenerate_password: USER_PASSWORD,
    })
    assert.equal(page.status(), 200)
    assert.equal(page.header('cache-control'), 'no-store')
    const fresh = [
      ...page.text().matchAll(/<li><code>([a-z2-9]{5}-[a-z2-9]{5})<\/code><\/li>/g),
    ].map((m) => m[1])
    assert.lengthOf(fresh, 10)
    const hashes = (
      await db.from('recovery_codes').where('user_id', user.id).select('code_hash')
    ).map((row) => row.code_hash)
    assert.sameMembers(
      hashes,
      fresh.map((code) => sha256(code.replace('-', '')))
    )
    assert.include(await auditActions(user.id), 'auth.2fa.recovery_codes_regenerated')

    // An old code no longer opens the account.
    const later = await atChallenge(client, user)
    assert.equal((await later.submit('POST', '/login/two-factor', { code: old[1] })).status(), 422)
  })

  test('signed-out visitors cannot reach the enrolment routes', async ({ client, assert }) => {
    const web = new Session(client)
    await web.get('/login')
    const response = await web.submit('POST', '/account/two-factor', {
      enable_password: 'whatever it is',
    })
    assert.equal(response.status(), 302)
    assert.match(response.header('location') ?? '', /^\/login/)
  })
})
