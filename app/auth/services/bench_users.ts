import db from '@adonisjs/lucid/services/db'
import hash from '@adonisjs/core/services/hash'

/**
 * Benchmark accounts in bulk (bench:seed): one Argon2id hash of `password` shared by all, so
 * 50,000 members cost one hash, not 20 minutes of them. Existing addresses are kept. Returns
 * the ids in the order of `emails`.
 */
export async function insertBenchUsers(emails: string[], password: string): Promise<string[]> {
  const secret = await hash.make(password)
  const ids = new Map<string, string>()
  for (let lo = 0; lo < emails.length; lo += 5_000) {
    const chunk = emails.slice(lo, lo + 5_000).map((email) => email.toLowerCase())
    await db.rawQuery(
      `INSERT INTO users (email, name, password, email_verified_at)
       SELECT e, 'Bench ' || split_part(e, '@', 1), ?, now() FROM unnest(?::text[]) AS e
       ON CONFLICT ((lower(email))) DO NOTHING`,
      [secret, chunk]
    )
    const { rows } = await db.rawQuery(
      'SELECT id, lower(email) AS email FROM users WHERE lower(email) = ANY(?::text[])',
      [chunk]
    )
    for (const row of rows) ids.set(row.email, row.id)
  }
  return emails.map((email) => ids.get(email.toLowerCase())!)
}
