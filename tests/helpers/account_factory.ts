import { randomUUID } from 'node:crypto'
import { DateTime } from 'luxon'
import User from '#auth/models/user'

/** A unique address per call: limits and unique indexes never collide between tests or runs. */
export function uniqueEmail(prefix = 'user') {
  return `${prefix}-${randomUUID()}@example.test`
}

/** A strong password that passes the policy. */
export function strongPassword() {
  return `tidal-${randomUUID()}-lantern`
}

/** Creates an account directly (no sign-up mail); returns it with its clear-text password. */
export async function makeUser(
  options: { email?: string; verified?: boolean; platformAdmin?: boolean; name?: string } = {}
) {
  const password = strongPassword()
  const user = await User.create({
    email: options.email ?? uniqueEmail(),
    name: options.name ?? 'Test Person',
    password,
    timeZone: 'UTC',
    platformAdmin: options.platformAdmin ?? false,
    emailVerifiedAt: options.verified ? DateTime.now() : null,
  })
  return { user, password }
}
