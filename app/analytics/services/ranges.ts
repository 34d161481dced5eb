import { DateTime } from 'luxon'
import { InvalidInputException, isBoundedDay, MAX_YEAR, MIN_YEAR } from '#core'

export const PRESETS = ['24h', '7d', '30d', '90d'] as const
export type Preset = (typeof PRESETS)[number]
export const MAX_DAYS = 366

/**
 * A dashboard period in the tenant's time zone. `24h` is the last 24 whole hours (hourly
 * buckets, the current hour included); day presets and custom ranges are whole local days, `to`
 * included (daily buckets). `start`/`end` are instants (end exclusive); a DST day has 23 or 25 hours.
 */
export type Range = {
  preset: Preset | 'custom'
  granularity: 'hour' | 'day'
  timeZone: string
  start: DateTime
  end: DateTime
  /** Local dates covered, inclusive (also what the runs list filters on). */
  fromDay: string
  toDay: string
  /** Bucket keys in order: ISO instants of hours, or YYYY-MM-DD days. */
  buckets: string[]
  label: string
}

export type RangeInput = { range?: string; from?: string; to?: string }

const zones = new Map<string, string>()

function zoneOf(timeZone: string) {
  let zone = zones.get(timeZone)
  if (zone === undefined) {
    zone = DateTime.now().setZone(timeZone).isValid ? timeZone : 'UTC'
    if (zones.size >= 1000) zones.clear()
    zones.set(timeZone, zone)
  }
  return zone
}

const clocks = new Map<string, Intl.DateTimeFormat>()

/**
 * The local date (YYYY-MM-DD) and time (HH:mm:ss) of an instant in a zone, from a formatter kept
 * per zone: Luxon's setZone + format cost ~40 µs, and every dashboard asks.
 */
export function localClock(timeZone: string, at = Date.now()) {
  const zone = zoneOf(timeZone)
  let clock = clocks.get(zone)
  if (!clock) {
    clock = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
    clocks.set(zone, clock)
  }
  const part: Record<string, string> = {}
  for (const { type, value } of clock.formatToParts(at)) part[type] = value
  return {
    day: `${part.year}-${part.month}-${part.day}`,
    time: `${part.hour}:${part.minute}:${part.second}`,
  }
}

const midnights = new Map<string, DateTime>()

/**
 * The start of a local date (YYYY-MM-DD) in a zone, remembered: zone arithmetic costs Luxon
 * ~0.1 ms a call, and every uncached dashboard needed a dozen. Invalid for impossible dates.
 */
function startOfDay(day: string, zone: string): DateTime {
  const key = `${zone} ${day}`
  let start = midnights.get(key)
  if (!start) {
    start = DateTime.fromISO(day, { zone }).startOf('day')
    if (midnights.size >= 10_000) midnights.clear()
    midnights.set(key, start)
  }
  return start
}

/** A calendar date `days` later (or earlier): dates step in UTC, whatever the zone. */
export function shiftDay(day: string, days: number) {
  return new Date(Date.parse(day) + days * 86_400_000).toISOString().slice(0, 10)
}

function parseDay(text: string | undefined, field: string, zone: string) {
  const value = (text ?? '').trim()
  const day = isBoundedDay(value) ? startOfDay(value, zone) : null
  if (!day?.isValid)
    throw new InvalidInputException(
      field,
      `Enter a date as YYYY-MM-DD, between ${MIN_YEAR} and ${MAX_YEAR}.`
    )
  return day
}

/** Whole local days [first, last]: instants, buckets and a label. */
export function dayRange(
  first: DateTime,
  last: DateTime,
  preset: Range['preset'],
  zone: string
): Range {
  // Calendar dates step in UTC (a local date is the same label in any zone; zone arithmetic
  // per day is what made this the dashboard's hottest line).
  const buckets: string[] = []
  const [firstUtc, lastUtc] = [first, last].map((day) => Date.UTC(day.year, day.month - 1, day.day))
  for (let at = firstUtc; at <= lastUtc; at += 86_400_000)
    buckets.push(new Date(at).toISOString().slice(0, 10))
  const toDay = buckets.at(-1)!
  const label =
    buckets.length === 1
      ? first.toFormat('d LLL yyyy')
      : `${first.toFormat('d LLL yyyy')} – ${last.toFormat('d LLL yyyy')}`
  return {
    preset,
    granularity: 'day',
    timeZone: zone,
    start: first,
    end: startOfDay(shiftDay(toDay, 1), zone),
    fromDay: buckets[0],
    toDay,
    buckets,
    label,
  }
}

function hourRange(end: DateTime, zone: string): Range {
  const start = end.minus({ hours: 24 })
  const buckets = Array.from({ length: 24 }, (_, i) => start.plus({ hours: i }).toUTC().toISO()!)
  return {
    preset: '24h',
    granularity: 'hour',
    timeZone: zone,
    start,
    end,
    fromDay: start.setZone(zone).toISODate()!,
    toDay: end.minus({ milliseconds: 1 }).setZone(zone).toISODate()!,
    buckets,
    label: 'Last 24 hours',
  }
}

/**
 * The range a query string asks for (default the last 7 days). Throws InvalidInputException
 * naming the field for a malformed or impossible custom range.
 */
export function resolveRange(
  input: RangeInput,
  timeZone: string,
  now: DateTime = DateTime.now()
): Range {
  const zone = zoneOf(timeZone)
  const preset = input.range || (input.from || input.to ? 'custom' : '7d')
  const todayDay = localClock(zone, now.toMillis()).day
  const today = startOfDay(todayDay, zone)
  if (preset === '24h') return hourRange(now.toUTC().startOf('hour').plus({ hours: 1 }), zone)
  if (preset === '7d' || preset === '30d' || preset === '90d') {
    const days = Number.parseInt(preset, 10)
    return {
      ...dayRange(startOfDay(shiftDay(todayDay, 1 - days), zone), today, preset, zone),
      label: `Last ${days} days`,
    }
  }
  if (preset !== 'custom')
    throw new InvalidInputException('range', `Choose one of ${PRESETS.join(', ')} or custom.`)
  const first = parseDay(input.from, 'from', zone)
  const last = input.to ? parseDay(input.to, 'to', zone) : today
  if (last < first)
    throw new InvalidInputException('to', 'The end date must be on or after the start date.')
  const span = (Date.parse(last.toISODate()!) - Date.parse(first.toISODate()!)) / 86_400_000
  if (span + 1 > MAX_DAYS)
    throw new InvalidInputException('to', `A range covers at most ${MAX_DAYS} days.`)
  return dayRange(first, last, 'custom', zone)
}

type Resolved = { range: Range; error: InvalidInputException | null }

/** Ranges resolved this minute, by zone and input (time-zone arithmetic is not cheap). */
const resolved = new Map<string, Resolved>()
let resolvedMinute = 0

/**
 * For pages: the range asked for, or — when it is malformed — the default range and the
 * refusal, which the page shows above it (a hand-edited URL still gets a dashboard). Pages ask
 * for the same few ranges again and again, so each is resolved once a minute (day and hour
 * boundaries fall on minutes in every zone); the result is shared, hence frozen.
 */
export function rangeOrDefault(input: RangeInput, timeZone: string): Resolved {
  const minute = Math.floor(Date.now() / 60_000)
  if (minute !== resolvedMinute || resolved.size >= 1000) {
    resolved.clear()
    resolvedMinute = minute
  }
  const key = [timeZone, input.range, input.from, input.to].join('\u0000')
  const cached = resolved.get(key)
  if (cached) return cached
  let found: Resolved
  try {
    found = { range: resolveRange(input, timeZone), error: null }
  } catch (error) {
    if (!(error instanceof InvalidInputException)) throw error
    found = { range: resolveRange({}, timeZone), error }
  }
  Object.freeze(found.range.buckets)
  Object.freeze(found.range)
  // Keys stay small: a valid input is a preset or two dates.
  if (key.length <= 100) resolved.set(key, Object.freeze(found))
  return found
}

/** The period of the same length just before `range`, for the change figures. */
export function previousRange(range: Range): Range {
  if (range.granularity === 'hour') return hourRange(range.start, range.timeZone)
  const days = range.buckets.length
  const [first, last] = [shiftDay(range.fromDay, -days), shiftDay(range.fromDay, -1)]
  const zone = range.timeZone
  return dayRange(startOfDay(first, zone), startOfDay(last, zone), range.preset, zone)
}

/** The query string of a range (what the page's links and forms carry). */
export function rangeQuery(range: Range): Record<string, string> {
  return range.preset === 'custom'
    ? { range: 'custom', from: range.fromDay, to: range.toDay }
    : { range: range.preset }
}
