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

/** IANA zones for the time-zone picker, with their current offset. */
export function timeZoneOptions() {
  const zones = (Intl as any).supportedValuesOf('timeZone') as string[]
  return ['UTC', ...zones.filter((zone) => zone !== 'UTC')].map((zone) => ({
    value: zone,
    label: `${zone} (UTC${DateTime.now().setZone(zone).toFormat('ZZ')})`,
  }))
}
