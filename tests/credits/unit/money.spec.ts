import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import { InsufficientCreditsException, CreditsInputException } from '#credits'
import { MAX_MICROS, micros } from '#credits/services/accounts'
import { decodeCursor, encodeCursor } from '#core/pagination'
import { csvField } from '#core'
import { creditsArgument } from '#credits/commands/helpers'
import { uuidv7 } from '#credits/services/ids'
import { isUuid } from '#core'

test.group('credits / money rules', () => {
  test('money arguments are exact integers of micro-credits, never floats', ({ assert }) => {
    assert.equal(micros(5n, 'amount', 'positive'), 5n)
    assert.equal(micros(7, 'amount', 'positive'), 7n)
    assert.equal(micros('9007199254740993', 'amount', 'positive'), 9_007_199_254_740_993n)
    assert.equal(micros(-3n, 'amount', 'non-zero'), -3n)
    assert.equal(micros(0n, 'amount', 'non-negative'), 0n)
    for (const bad of [
      0.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      2 ** 60,
      '1.5',
      '1e3',
      '',
      null,
      undefined,
      {},
      [1],
    ]) {
      assert.throws(() => micros(bad, 'amount', 'positive'), CreditsInputException as any)
    }
    assert.throws(() => micros(0n, 'amount', 'positive'), 'amount must be positive')
    assert.throws(() => micros(-1n, 'amount', 'non-negative'), 'amount must be non negative')
    assert.throws(() => micros(0n, 'amount', 'non-zero'), 'amount must be non zero')
    assert.throws(() => micros(MAX_MICROS + 1n, 'amount', 'positive'), 'amount is out of range')
  })

  test('operators type credits: up to 6 decimals, signed only where allowed', ({ assert }) => {
    assert.deepEqual(creditsArgument('12.5', { signed: false }), { micros: 12_500_000n })
    assert.deepEqual(creditsArgument('-0.000001', { signed: true }), { micros: -1n })
    for (const bad of ['1.0000001', 'abc', '', '1e3', 'NaN', ' ', '--1'])
      assert.property(creditsArgument(bad, { signed: true }), 'reason')
    assert.property(creditsArgument('-1', { signed: false }), 'reason')
    assert.property(creditsArgument('0', { signed: true }), 'reason')
  })

  test('the 402 says what is needed and what is available, in credits', ({ assert }) => {
    const error = new InsufficientCreditsException(1_500_000n, 33n)
    assert.equal(error.status, 402)
    assert.equal(error.code, 'E_INSUFFICIENT_CREDITS')
    assert.equal(error.message, 'needs 1.5 credits, 0.000033 available')
    assert.equal(
      new InsufficientCreditsException(1n, -5n).message,
      'needs 0.000001 credits, 0 available'
    )
  })

  test('ledger cursors are opaque, exact to the microsecond, and reject malformed ones', ({
    assert,
  }) => {
    const entry = { createdAt: '2026-11-27T17:55:30.123456Z', id: randomUUID() }
    assert.deepEqual(decodeCursor(encodeCursor(entry.createdAt, entry.id)), {
      at: entry.createdAt,
      id: entry.id,
    })
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    for (const bad of [
      'garbage',
      '',
      null,
      42,
      encode({ at: entry.createdAt, id: 'x' }),
      encode([entry.createdAt, entry.id]),
      'x'.repeat(500),
    ]) {
      assert.isNull(decodeCursor(bad))
    }
  })

  test('CSV fields are quoted only when needed, and formulas in free text are defused', ({
    assert,
  }) => {
    assert.equal(csvField('plain'), 'plain')
    assert.equal(csvField(null), '')
    assert.equal(csvField('a,b'), '"a,b"')
    assert.equal(csvField('say "hi"'), '"say ""hi"""')
    assert.equal(csvField('two\nlines'), '"two\nlines"')
    assert.equal(csvField('-1.5'), '-1.5')
    assert.equal(csvField('=SUM(A1)', true), "'=SUM(A1)")
    assert.equal(csvField('@cmd', true), "'@cmd")
    assert.equal(csvField('+1,2', true), `"'+1,2"`)
  })

  test('hold ids are time-ordered UUIDv7s', async ({ assert }) => {
    const first = uuidv7()
    await new Promise((resolve) => setTimeout(resolve, 2))
    const ids = Array.from({ length: 100 }, () => uuidv7())
    for (const id of [first, ...ids]) {
      assert.isTrue(isUuid(id), id)
      assert.equal(id[14], '7')
      assert.include('89ab', id[19])
    }
    assert.isTrue(ids.every((id) => id.slice(0, 13) > first.slice(0, 13)))
    assert.lengthOf(new Set(ids), 100)
  })
})
