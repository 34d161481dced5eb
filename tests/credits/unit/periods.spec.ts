import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import { periodAt } from '#credits/services/periods'

const at = (iso: string) => DateTime.fromISO(iso, { setZone: true }).toJSDate()

test.group('credits / billing periods', () => {
  test('a period is the calendar month in the tenant time zone, whatever the UTC date', ({
    assert,
  }) => {
    // 1 March 03:30 in Auckland is still February in UTC.
    const period = periodAt(at('2027-02-28T14:30:00Z'), 'Pacific/Auckland')
    assert.equal(period.key, '2027-03')
    assert.equal(period.firstDay, '2027-03-01')
    // …and in Los Angeles the same instant is February.
    assert.equal(periodAt(at('2027-02-28T14:30:00Z'), 'America/Los_Angeles').key, '2027-02')
  })

  test('31 January → February: the next period starts on 1 February, not 3 March', ({ assert }) => {
    const january = periodAt(at('2027-01-31T23:59:59-05:00'), 'America/New_York')
    assert.equal(january.key, '2027-01')
    assert.equal(january.end.toISODate(), '2027-02-01')
    const february = periodAt(january.end, 'America/New_York')
    assert.equal(february.key, '2027-02')
    assert.equal(february.end.toISODate(), '2027-03-01')
  })

  test('leap years: February 2028 has 29 days, February 2027 and 2100 have 28', ({ assert }) => {
    const days = (iso: string) => {
      const p = periodAt(at(iso), 'UTC')
      return p.end.diff(p.start, 'days').days
    }
    assert.equal(days('2028-02-29T12:00:00Z'), 29)
    assert.equal(days('2027-02-10T12:00:00Z'), 28)
    assert.equal(days('2100-02-10T12:00:00Z'), 28)
    assert.equal(periodAt(at('2028-02-29T23:59:59Z'), 'UTC').key, '2028-02')
    assert.equal(periodAt(at('2028-03-01T00:00:00Z'), 'UTC').key, '2028-03')
  })

  test('a period spanning a DST change starts at local midnight and is an hour short or long', ({
    assert,
  }) => {
    // Europe/Berlin springs forward on 28 March 2027 and falls back on 31 October 2027.
    const march = periodAt(at('2027-03-15T12:00:00Z'), 'Europe/Berlin')
    assert.equal(march.start.toISO(), '2027-03-01T00:00:00.000+01:00')
    assert.equal(march.end.toISO(), '2027-04-01T00:00:00.000+02:00')
    assert.equal(march.end.diff(march.start, 'hours').hours, 31 * 24 - 1)
    const october = periodAt(at('2027-10-15T12:00:00Z'), 'Europe/Berlin')
    assert.equal(october.end.diff(october.start, 'hours').hours, 31 * 24 + 1)
    // The instant of local midnight on 1 April belongs to April, a second before to March.
    assert.equal(periodAt(at('2027-03-31T22:00:00Z'), 'Europe/Berlin').key, '2027-04')
    assert.equal(periodAt(at('2027-03-31T21:59:59Z'), 'Europe/Berlin').key, '2027-03')
  })

  test('an unknown time zone is refused rather than read as UTC', ({ assert }) => {
    assert.throws(() => periodAt(new Date(), 'Mars/Olympus'), /invalid time zone/)
  })
})
