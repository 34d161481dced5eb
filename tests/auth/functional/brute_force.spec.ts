import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import { addressGroup } from '#auth/services/brute_force'
import { Session, testIp } from '#tests/helpers/session'
import { UserFactory, USER_PASSWORD } from '#database/factories/user_factory'

/** Browsers that all come from one client address, each with its login form loaded. */
async function browsersAt(client: ApiClient, ip: string, count: number) {
  const browsers = Array.from({ length: count }, () => Object.assign(new Session(client), { ip }))
  for (const browser of browsers) await browser.get('/login')
  return browsers
}

/** How many wrong passwords for `email` reached the credential check (each is audited). */
async function checkedFailures(email: string) {
  const row = await db
    .from('audit_events')
    .where('action', 'auth.login.failed')
    .where('actor_label', email)
    .count('* as n')
    .first()
  return Number(row?.n ?? 0)
}

test.group('auth / brute force', () => {
  test('30 parallel wrong passwords from one address: at most 5 are checked, the rest get 429', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const browsers = await browsersAt(client, testIp(), 30)
    const answers = await Promise.all(
      browsers.map((browser) =>
        browser.submit('POST', '/login', { email: user.email, password: 'wrong password!' })
      )
    )
    const statuses = answers.map((answer) => answer.status())
    assert.isAtMost(await checkedFailures(user.email), 5)
    assert.isAtMost(statuses.filter((status) => status === 422).length, 5)
    assert.equal(statuses.filter((status) => status === 429).length, 30 - 5)
  })

  test("one address's failures against one account neither lock out the owner elsewhere nor other users there", async ({
    client,
    assert,
  }) => {
    const victim = await UserFactory.create()
    const neighbour = await UserFactory.create()
    const attacker = new Session(client)
    for (let i = 0; i < 6; i++) await attacker.login(victim.email, 'wrong password!')
    // The attacker's address is refused for this account, even with the right password…
    assert.equal((await attacker.login(victim.email, USER_PASSWORD)).status(), 429)
    // …another user behind the same address still logs in…
    const sameAddress = Object.assign(new Session(client), { ip: attacker.ip })
    assert.equal((await sameAddress.login(neighbour.email)).status(), 302)
    // …and the owner logs in from their own address (slowed down, not locked out).
    const owner = new Session(client)
    const response = await owner.login(victim.email)
    assert.equal(response.status(), 302)
    assert.notInclude(response.header('location') ?? '', '/login')
  })

  test('IPv6 clients are limited by their /64; IPv4 by address', ({ assert }) => {
    assert.equal(addressGroup('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64')
    assert.equal(addressGroup('2001:db8:1:2::9'), '2001:db8:1:2::/64')
    assert.equal(addressGroup('2001:DB8:0001:0002:ffff::1'), '2001:db8:1:2::/64')
    assert.equal(addressGroup('2001:db8::1'), '2001:db8:0:0::/64')
    assert.equal(addressGroup('::ffff:192.0.2.7'), '192.0.2.7')
    assert.equal(addressGroup('192.0.2.7'), '192.0.2.7')
  })
})
