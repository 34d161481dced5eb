import vine from '@vinejs/vine'
import { DateTime, IANAZone } from 'luxon'
import { PASSWORD_MAX } from '#auth/services/password_policy'

const email = () => vine.string().trim().maxLength(254).email()

export const signupValidator = vine.create({
  name: vine.string().trim().minLength(1).maxLength(120),
  email: email(),
  password: vine.string().minLength(1).maxLength(PASSWORD_MAX),
})

export const loginValidator = vine.create({
  email: vine.string().trim().maxLength(254),
  password: vine.string().maxLength(PASSWORD_MAX),
  remember: vine.boolean().optional(),
  next: vine.string().optional(),
})

export const profileValidator = vine.create({
  name: vine.string().trim().minLength(1).maxLength(120),
  timeZone: vine
    .string()
    .trim()
    .maxLength(64)
    .use(
      vine.createRule((value, _options, field) => {
        if (typeof value === 'string' && !IANAZone.isValidZone(value))
          field.report('Choose a time zone from the list.', 'timeZone', field)
      })()
    ),
})

export const passwordChangeValidator = vine.create({
  current_password: vine.string().maxLength(PASSWORD_MAX),
  password: vine.string().minLength(1).maxLength(PASSWORD_MAX),
})

/** Zone offsets change on a quarter hour at the earliest (UTC+5:45 and the like). */
const QUARTER_HOUR_MS = 15 * 60_000
let zoneOptions: { slot: number; options: readonly { value: string; label: string }[] } | null =
  null

/**
 * IANA zones for the time-zone picker, with their current offset. Computed once per quarter
 * hour: ~420 zones through Luxon took ~10 ms of every account page.
 */
export function timeZoneOptions() {
  const slot = Math.floor(Date.now() / QUARTER_HOUR_MS)
  if (zoneOptions?.slot !== slot) {
    const zones = (Intl as any).supportedValuesOf('timeZone') as string[]
    const now = DateTime.now()
    const options = ['UTC', ...zones.filter((zone) => zone !== 'UTC')].map((zone) =>
      Object.freeze({ value: zone, label: `${zone} (UTC${now.setZone(zone).toFormat('ZZ')})` })
    )
    zoneOptions = { slot, options: Object.freeze(options) }
  }
  return zoneOptions.options
}
