import { DateTime } from 'luxon'

/** A billing period: one calendar month in the tenant's time zone. */
export type Period = {
  /** `YYYY-MM`, the month's name in keys (allowance idempotency keys). */
  key: string
  /** The first local day, `YYYY-MM-DD` (a DATE column). */
  firstDay: string
  start: DateTime
  /** The next period's start (exclusive end). */
  end: DateTime
}

/**
 * The month containing `at` in `zone`. Months start at local midnight on the 1st, so a period
 * spanning a DST change is an hour shorter or longer than 24 h × days, and never skips a day.
 */
export function periodAt(at: Date | DateTime, zone: string): Period {
  const local = (at instanceof Date ? DateTime.fromJSDate(at) : at).setZone(zone)
  if (!local.isValid) throw new Error(`invalid time zone ${zone}`)
  const start = local.startOf('month')
  return {
    key: start.toFormat('yyyy-MM'),
    firstDay: start.toISODate()!,
    start,
    end: start.plus({ months: 1 }),
  }
}
