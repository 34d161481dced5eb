import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import cache from '@adonisjs/cache/services/main'
import { cachedDto } from '#analytics/services/cache'

test.group('analytics / dashboard cache across processes', () => {
  test('an entry another process cached comes from Redis, frozen, without computing it again', async ({
    assert,
  }) => {
    const tenantId = randomUUID()
    const report = { rows: [{ key: 'agent-1', runs: 3 }], creditsMicros: '1200' }
    let computed = 0
    const lookup = () =>
      cachedDto(
        tenantId,
        'test',
        { range: '90d' },
        async () => {
          computed++
          return structuredClone(report)
        },
        '7'
      )
    const first = await lookup()
    assert.deepEqual(first, report)
    assert.isTrue(Object.isFrozen(first.rows[0]))
    // This process's memory hands out the same object.
    assert.strictEqual(await lookup(), first)

    // What a second process sees: nothing in its memory, the entry in Redis.
    await cache.use('analytics').clear()
    const elsewhere = await lookup()
    assert.equal(computed, 1)
    assert.deepEqual(elsewhere, report)
    assert.notStrictEqual(elsewhere, first)
    assert.isTrue(Object.isFrozen(elsewhere.rows[0]))
    assert.strictEqual(await lookup(), elsewhere)

    // A new rollup version is another key: computed once more.
    await cachedDto(tenantId, 'test', { range: '90d' }, async () => (computed++, report), '8')
    assert.equal(computed, 2)
  }).skip(!process.env.REDIS_URL, 'REDIS_URL is not set')

  test('without Redis, a process whose memory lost the entry computes it again', async ({
    assert,
  }) => {
    const tenantId = randomUUID()
    let computed = 0
    const lookup = () => cachedDto(tenantId, 'test', {}, async () => ({ n: ++computed }), '1')
    assert.deepEqual(await lookup(), { n: 1 })
    assert.deepEqual(await lookup(), { n: 1 })
    await cache.use('analytics').clear()
    assert.deepEqual(await lookup(), { n: 2 })
  }).skip(!!process.env.REDIS_URL, 'REDIS_URL is set (the entry comes from Redis)')
})
