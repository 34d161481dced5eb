import { test } from '@japa/runner'
import { formatCredits, parseCredits } from '#core/money'

test.group('core / money', () => {
  test('formats micro-credits as decimal credits without trailing zeros', ({ assert }) => {
    assert.equal(formatCredits(33n), '0.000033')
    assert.equal(formatCredits(1_000_000n), '1')
    assert.equal(formatCredits(1_500_000), '1.5')
    assert.equal(formatCredits('-2500000'), '-2.5')
    assert.equal(formatCredits(0), '0')
    assert.equal(formatCredits(123_456_789_012_345_678n), '123456789012.345678')
  })

  test('parses credits exactly from numbers and strings', ({ assert }) => {
    assert.equal(parseCredits('0.000033'), 33n)
    assert.equal(parseCredits(1.5), 1_500_000n)
    assert.equal(parseCredits('-2.5'), -2_500_000n)
    assert.equal(parseCredits(' 10 '), 10_000_000n)
    assert.equal(parseCredits(0.1 + 0.2), 300_000n)
  })

  test('rejects anything that is not a plain decimal with at most 6 decimals', ({ assert }) => {
    for (const bad of [
      '',
      'abc',
      '1e3',
      '0.0000001',
      '1.',
      '.5',
      'NaN',
      null,
      undefined,
      {},
      Number.POSITIVE_INFINITY,
    ]) {
      assert.isNull(parseCredits(bad), `accepted ${String(bad)}`)
    }
  })

  test('round-trips every value it formats', ({ assert }) => {
    for (const micros of [0n, 1n, 999_999n, 1_000_001n, -42n, 9_007_199_254_740_993n]) {
      assert.equal(parseCredits(formatCredits(micros)), micros)
    }
  })
})
