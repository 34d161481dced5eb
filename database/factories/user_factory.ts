import { randomUUID } from 'node:crypto'
import { DateTime } from 'luxon'
import factory from '@adonisjs/lucid/factories'
import { User } from '#auth'

/** Every factory user's password: passes the password policy and is known to the tests. */
export const USER_PASSWORD = 'correct horse battery staple'

/** A unique address: per-email limits (kept in Redis across runs) and unique indexes never collide. */
export function uniqueEmail(prefix = 'user') {
  return `${prefix}-${randomUUID()}@example.test`
}

/** Another strong password, different from USER_PASSWORD and from every earlier one. */
export function strongPassword() {
  return `tidal-${randomUUID()}-lantern`
}

/**
 * Users as rows (the model hashes the password), with a verified address unless `unverified`.
 * Two-factor needs the real actions and returns a secret: see enableTwoFactor in
 * tests/helpers/two_factor.ts.
 */
export const UserFactory = factory
  .define(User, () => ({
    email: uniqueEmail(),
    name: 'Test User',
    password: USER_PASSWORD,
    timeZone: 'UTC',
    platformAdmin: false,
    emailVerifiedAt: DateTime.now(),
  }))
  .state('unverified', (user) => {
    user.emailVerifiedAt = null
  })
  .state('platformAdmin', (user) => {
    user.platformAdmin = true
  })
  .build()
