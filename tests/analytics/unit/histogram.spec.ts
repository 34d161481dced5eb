import { test } from '@japa/runner'
import { bucketOf, HIST_THRESHOLDS, percentile, percentiles } from '#analytics/histogram'
import { addPackedHistogram, packHistogram, unpackHistogram } from '#analytics/histogram'

test.group('analytics / histogram layout', () => {
  test('thresholds: 1 ms steps below 100 ms, then 2 % apart (rounded up to whole ms) up to an hour', ({
    assert,
  }) => {
    assert.deepEqual(HIST_THRESHOLDS.slice(0, 3), [1, 2, 3])
    assert.equal(HIST_THRESHOLDS[99], 100)
    for (let i = 1; i < HIST_THRESHOLDS.length; i++) {
      assert.isAbove(HIST_THRESHOLDS[i], HIST_THRESHOLDS[i - 1])
      if (HIST_THRESHOLDS[i - 1] >= 100)
        assert.isAtMost(
          HIST_THRESHOLDS[i] - HIST_THRESHOLDS[i - 1],
          Math.ceil(HIST_THRESHOLDS[i - 1] * 0.02) + 1
        )
      if (HIST_THRESHOLDS[i - 1] >= 5000)
        assert.isAtMost(HIST_THRESHOLDS[i] / HIST_THRESHOLDS[i - 1], 1.0202)
    }
    assert.isAtLeast(HIST_THRESHOLDS.at(-1)!, 3_600_000)
    assert.isBelow(HIST_THRESHOLDS.length, 700)
  })

  test('bucketOf counts the thresholds at or below the value (like width_bucket)', ({ assert }) => {
    assert.equal(bucketOf(0), 0)
    assert.equal(bucketOf(1), 1)
    assert.equal(bucketOf(99), 99)
    assert.equal(bucketOf(100), 100)
    assert.equal(bucketOf(101), 100)
    assert.equal(bucketOf(102), 101)
    assert.equal(bucketOf(10 ** 9), HIST_THRESHOLDS.length)
    assert.isNull(bucketOf(null))
    assert.isNull(bucketOf(-1))
  })

  test('percentiles: exact for small integer latencies, interpolated like percentile_cont', ({
    assert,
  }) => {
    assert.isNull(percentile({}, 0.5))
    const small = { [bucketOf(5)!]: 1, [bucketOf(7)!]: 1, [bucketOf(9)!]: 2 }
    assert.equal(percentile(small, 0), 5)
    assert.equal(percentile(small, 0.5), 8) // between 7 and 9
    assert.equal(percentile(small, 1), 9)
    const one = { [bucketOf(1000)!]: 1 }
    assert.approximately(percentile(one, 0.95)!, 1000, 10)
    // Several at once (one walk over the buckets), in any order, as each alone.
    const spread: Record<number, number> = {}
    for (let ms = 0; ms < 5000; ms += 37) spread[bucketOf(ms)!] = (spread[bucketOf(ms)!] ?? 0) + 3
    const ps = [0.99, 0, 0.5, 0.95, 0.5, 1, 0.123]
    assert.deepEqual(
      percentiles(spread, ps),
      ps.map((p) => percentile(spread, p))
    )
    assert.deepEqual(percentiles({}, [0.5, 0.9]), [null, null])
    // Subtracting a running row (negative adds) leaves the range's own counts.
    const dense = new Float64Array(HIST_THRESHOLDS.length + 1)
    addPackedHistogram(packHistogram({ 5: 4, 9: 6 }), [dense])
    addPackedHistogram(packHistogram({ 5: 3, 9: 1 }), [dense], -1)
    assert.deepEqual(percentiles(dense, [0, 1]), [5, 9])
    assert.equal(percentile(dense, 0.5), 9) // 1 × 5 ms, 5 × 9 ms
  })
})

test.group('analytics / packed histograms', () => {
  test('packHistogram stores sorted (int2 bucket, int4 count) pairs; unpacking and adding give them back', ({
    assert,
  }) => {
    const packed = packHistogram({ 629: 1, 3: 2, 120: 15, 7: 0 })
    assert.equal(
      packed.toString('hex'),
      '0003' + '00000002' + '0078' + '0000000f' + '0275' + '00000001'
    )
    assert.deepEqual(unpackHistogram(packed), { 3: 2, 120: 15, 629: 1 })
    assert.deepEqual(unpackHistogram(packHistogram({})), {})
    // Counts use all 31 bits of the int4 (the byte arithmetic never goes negative).
    assert.deepEqual(unpackHistogram(packHistogram({ 5: 2_000_000_000 })), { 5: 2_000_000_000 })

    const [a, b] = [new Float64Array(700), new Float64Array(700)]
    addPackedHistogram(packed, [a, b])
    addPackedHistogram(packHistogram({}), [a])
    addPackedHistogram(packHistogram({ 120: 5 }), [a])
    assert.equal(a[3], 2)
    assert.equal(a[120], 20)
    assert.equal(a[629], 1)
    assert.equal(b[120], 15)
    assert.equal(
      a.reduce((x, y) => x + y, 0),
      23
    )
  })
})
