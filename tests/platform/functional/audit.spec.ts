import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { recordAudit, verifyAuditChain } from '#platform'
import AuditVerify from '#platform/commands/audit_verify'
import { runCommand } from '#tests/helpers/ace'

test.group('platform / audit trail', () => {
  test('events chain by hash and verify clean, including concurrent writers', async ({
    assert,
  }) => {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        recordAudit({
          action: 'test.event',
          subjectType: 'thing',
          subjectId: String(i),
          changes: { b: i, a: [1, { z: 1, y: 2 }] },
        })
      )
    )
    assert.deepEqual(await verifyAuditChain(), [])
    const result = await runCommand(AuditVerify, [])
    assert.equal(result.exitCode, 0)
    assert.equal(result.stdout, '')
  })

  test('a tampered row is reported and audit:verify exits 1', async ({ assert }) => {
    await recordAudit({ action: 'test.first' })
    await recordAudit({ action: 'test.second', changes: { amount: 5 } })
    const row = await db.from('audit_events').where('action', 'test.second').firstOrFail()
    await db
      .from('audit_events')
      .where('id', row.id)
      .update({ changes: JSON.stringify({ amount: 500 }) })
    const problems = await verifyAuditChain()
    assert.lengthOf(problems, 1)
    assert.include(problems[0], `audit event ${row.id}`)
    const result = await runCommand(AuditVerify, [])
    assert.equal(result.exitCode, 1)
    assert.include(result.stdout, `audit event ${row.id}`)
  })
})
