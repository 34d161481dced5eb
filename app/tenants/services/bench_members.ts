import db from '@adonisjs/lucid/services/db'

/** Benchmark memberships in bulk (bench:seed): `member` role, existing ones kept. */
export async function insertBenchMembers(tenantId: string, userIds: string[]) {
  await db.rawQuery(
    `INSERT INTO memberships (tenant_id, user_id, role)
     SELECT ?, u, 'member' FROM unnest(?::uuid[]) AS u
     ON CONFLICT (tenant_id, user_id) DO NOTHING`,
    [tenantId, userIds]
  )
}
