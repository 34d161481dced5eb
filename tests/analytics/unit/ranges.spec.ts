import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import { InvalidInputException } from '#core'
import { localClock, previousRange, rangeOrDefault, resolveRange } from '#analytics/services/ranges'
import { splitRange } from '#analytics/services/rollups'

const hours = (range: { start: DateTime; end: DateTime }) =>
  range.end.diff(range.start, 'hours').hours

test.group('analytics / date ranges', () => {
  test('whole local days: the DST days of Europe/Paris last 23 and 25 hours', ({ assert }) => {
    const spring = resolveRange(
      { range: 'custom', from: '2026-03-29', to: '2026-03-29' },
      'Europe/Paris'
    )
    assert.equal(spring.start.toUTC().toISO(), '2026-03-28T23:00:00.000Z')
    assert.equal(spring.end.toUTC().toISO(), '2026-03-29T22:00:00.000Z')
    assert.equal(hours(spring), 23)
    const autumn = resolveRange(
      { range: 'custom', from: '2026-10-25', to: '2026-10-25' },
      'Europe/Paris'
    )
    assert.equal(hours(autumn), 25)
    assert.deepEqual(
      resolveRange({ range: 'custom', from: '2026-03-28', to: '2026-03-30' }, 'Europe/Paris')
        .buckets,
      ['2026-03-28', '2026-03-29', '2026-03-30']
    )
  })

  test('presets: 24 whole hours ending with the current one; N local days ending today', ({
    assert,
  }) => {
    const now = DateTime.fromISO('2026-03-29T10:20:00Z')
    const day = resolveRange({ range: '24h' }, 'Europe/Paris', now)
    assert.equal(day.granularity, 'hour')
    assert.lengthOf(day.buckets, 24)
    assert.equal(day.buckets[0], '2026-03-28T11:00:00.000Z')
    assert.equal(day.end.toUTC().toISO(), '2026-03-29T11:00:00.000Z')
    assert.equal(day.fromDay, '2026-03-28')
    assert.equal(day.toDay, '2026-03-29')
    const week = resolveRange({ range: '7d' }, 'Pacific/Auckland', now)
    assert.equal(week.toDay, '2026-03-29') // 23:20 in Auckland
    assert.equal(week.fromDay, '2026-03-23')
    assert.lengthOf(resolveRange({ range: '90d' }, 'UTC', now).buckets, 90)
    assert.equal(resolveRange({}, 'UTC', now).preset, '7d')
  })

  test('the previous period has the same length and ends where the range starts', ({ assert }) => {
    const range = resolveRange({ range: 'custom', from: '2026-03-10', to: '2026-03-16' }, 'UTC')
    const before = previousRange(range)
    assert.equal(before.fromDay, '2026-03-03')
    assert.equal(before.toDay, '2026-03-09')
    // Across a DST change: whole local days before the range, ending where it starts.
    const paris = resolveRange({ from: '2026-03-30', to: '2026-04-05' }, 'Europe/Paris')
    const earlier = previousRange(paris)
    assert.deepEqual([earlier.fromDay, earlier.toDay], ['2026-03-23', '2026-03-29'])
    assert.equal(earlier.start.toUTC().toISO(), '2026-03-22T23:00:00.000Z')
    assert.equal(earlier.end.toMillis(), paris.start.toMillis())
    assert.equal(hours(earlier), 7 * 24 - 1)
    const day = resolveRange({ range: '24h' }, 'UTC', DateTime.fromISO('2026-03-29T10:20:00Z'))
    assert.equal(previousRange(day).end.toMillis(), day.start.toMillis())
  })

  test('malformed or impossible custom ranges name the field', ({ assert }) => {
    const fails = (input: Record<string, string>, field: string) => {
      try {
        resolveRange(input, 'UTC')
        assert.fail(`accepted ${JSON.stringify(input)}`)
      } catch (error) {
        assert.instanceOf(error, InvalidInputException)
        assert.equal((error as InvalidInputException).field, field)
      }
    }
    fails({ range: 'week' }, 'range')
    fails({ range: 'custom' }, 'from')
    fails({ range: 'custom', from: '2026-02-30' }, 'from')
    fails({ from: '2026-03-02', to: '2026-03-01' }, 'to')
    fails({ from: '2024-01-01', to: '2026-01-01' }, 'to')
    // 366 days at most, counted in calendar days whatever the DST changes in between.
    fails({ from: '2025-02-28', to: '2026-03-01' }, 'to')
    const longest = resolveRange({ from: '2025-03-01', to: '2026-03-01' }, 'Europe/Paris')
    assert.lengthOf(longest.buckets, 366)
  })
})

test.group('analytics / local clock', () => {
  test("a zone's local date and time agree with Luxon, DST changes and odd offsets included", ({
    assert,
  }) => {
    const instants = [
      '2026-03-29T00:59:59Z', // Paris: 01:59:59 CET, just before the spring change
      '2026-03-29T01:00:00Z', // 03:00:00 CEST
      '2026-10-25T00:30:00Z', // Paris: 02:30 CEST, the autumn change's first pass
      '2026-12-31T23:59:59Z',
      '2026-07-01T12:00:00Z',
    ]
    for (const zone of [
      'Europe/Paris',
      'Pacific/Auckland',
      'Asia/Kathmandu',
      'America/St_Johns',
      'UTC',
    ])
      for (const iso of instants) {
        const at = DateTime.fromISO(iso)
        const local = at.setZone(zone)
        assert.deepEqual(
          localClock(zone, at.toMillis()),
          { day: local.toISODate(), time: local.toFormat('HH:mm:ss') },
          `${zone} ${iso}`
        )
      }
    // An unknown zone reads as UTC, as ranges do.
    assert.equal(localClock('Mars/Olympus', Date.parse('2026-01-01T00:00:00Z')).time, '00:00:00')
  })
})

test.group('analytics / page ranges', () => {
  test('pages share one frozen range per zone and input; a bad one falls back with its refusal', ({
    assert,
  }) => {
    const first = rangeOrDefault({ range: '30d' }, 'Asia/Tokyo')
    assert.strictEqual(rangeOrDefault({ range: '30d' }, 'Asia/Tokyo'), first)
    assert.deepEqual(first.range, resolveRange({ range: '30d' }, 'Asia/Tokyo'))
    assert.isTrue(Object.isFrozen(first.range) && Object.isFrozen(first.range.buckets))
    assert.notStrictEqual(rangeOrDefault({ range: '30d' }, 'Europe/Paris').range, first.range)

    const bad = rangeOrDefault({ range: 'custom', from: '2026-13-01' }, 'Asia/Tokyo')
    assert.equal(bad.error?.field, 'from')
    assert.equal(bad.range.preset, '7d')
    // A huge input is answered like any other bad one, and not kept.
    const huge = rangeOrDefault({ range: 'custom', from: 'x'.repeat(10_000) }, 'Asia/Tokyo')
    assert.equal(huge.error?.field, 'from')
    assert.notStrictEqual(
      rangeOrDefault({ range: 'custom', from: 'x'.repeat(10_000) }, 'Asia/Tokyo'),
      huge
    )
  })
})

test.group('analytics / splitRange', () => {
  const expand = (from: string, to: string) => {
    const days: string[] = []
    for (
      let at = Date.parse(`${from}T00:00:00Z`);
      at <= Date.parse(`${to}T00:00:00Z`);
      at += 86_400_000
    )
      days.push(new Date(at).toISOString().slice(0, 10))
    return days
  }
  const endOfMonth = (month: string) => {
    const at = new Date(`${month}T00:00:00Z`)
    return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 0))
      .toISOString()
      .slice(0, 10)
  }

  test('months, then ISO weeks, then days cover every day of a range exactly once', ({
    assert,
  }) => {
    let seed = 7
    const random = (n: number) => (seed = (seed * 48271) % 2147483647) % n
    for (let i = 0; i < 400; i++) {
      const from = expand('2025-11-01', '2027-02-28')[random(480)]
      const to = expand(from, '2027-12-31')[random(i % 4 === 0 ? 3 : 120)]
      const { months, weeks, days } = splitRange(from, to)
      const covered = [
        ...months.flatMap((month) => expand(month, endOfMonth(month))),
        ...weeks.flatMap((monday) => {
          assert.equal(new Date(`${monday}T00:00:00Z`).getUTCDay(), 1, `${monday} is a Monday`)
          return expand(monday, expand(monday, '2028-01-31')[6])
        }),
        ...days.flatMap(([a, b]) => expand(a, b)),
      ].sort()
      assert.deepEqual(covered, expand(from, to), `${from} … ${to}`)
      // No run of 7 single days is left where a whole week fits.
      for (const [a, b] of days) assert.isBelow(expand(a, b).length, 7 + 6, `${a} … ${b}`)
    }
  })

  test('examples: one day, a week from Monday, a whole month, a 90-day range', ({ assert }) => {
    assert.deepEqual(splitRange('2026-12-07', '2026-12-07'), {
      months: [],
      weeks: [],
      days: [['2026-12-07', '2026-12-07']],
    })
    assert.deepEqual(splitRange('2026-12-07', '2026-12-13'), {
      months: [],
      weeks: ['2026-12-07'],
      days: [],
    })
    assert.deepEqual(splitRange('2026-02-01', '2026-02-28'), {
      months: ['2026-02-01'],
      weeks: [],
      days: [],
    })
    assert.deepEqual(splitRange('2026-09-09', '2026-12-07'), {
      months: ['2026-10-01', '2026-11-01'],
      weeks: ['2026-09-14', '2026-09-21'],
      days: [
        ['2026-09-09', '2026-09-13'],
        ['2026-09-28', '2026-09-30'],
        ['2026-12-01', '2026-12-07'],
      ],
    })
  })
})
