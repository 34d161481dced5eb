import { DateTime, IANAZone } from 'luxon'
import { ToolError, type ToolContext } from '#agents/tools/builtin'

/**
 * The current time in an IANA time zone (the workspace's by default). Only IANA names are
 * accepted: luxon's "local"/"system" would give away the server's own zone.
 */
export function currentTime(
  timeZone: string | undefined,
  ctx: Pick<ToolContext, 'timeZone'>,
  now: DateTime = DateTime.now()
) {
  const name = (timeZone ?? ctx.timeZone ?? '').trim() || 'UTC'
  const zone = IANAZone.create(name)
  if (!zone.isValid)
    throw new ToolError(
      `Unknown time zone "${name}". Use an IANA name such as "Europe/Paris", "Asia/Tokyo" or "UTC".`
    )
  // The canonical spelling ("europe/paris" → "Europe/Paris").
  const canonical = new Intl.DateTimeFormat('en-US', { timeZone: zone.name }).resolvedOptions()
    .timeZone
  const time = now.setZone(zone).setLocale('en-US')
  return {
    iso: time.toISO({ suppressMilliseconds: true }),
    time_zone: canonical,
    weekday: time.weekdayLong,
    unix: Math.floor(time.toSeconds()),
  }
}
