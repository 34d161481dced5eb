import vine, { errors } from '@vinejs/vine'
import { DateTime } from 'luxon'

const day = () =>
  vine
    .string()
    .trim()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .use(
      vine.createRule((value, _options, field) => {
        if (typeof value === 'string' && !DateTime.fromISO(value).isValid) field.report('Enter a real date (YYYY-MM-DD).', 'date', field)
      })()
    )

export const GROUP_BY = ['day', 'agent', 'member', 'model'] as const

/** GET /api/v1/analytics/usage: whole days in the tenant's time zone, `to` included. */
export const usageValidator = vine.create({
  from: day().optional(),
  to: day().optional(),
  group_by: vine.enum(GROUP_BY).optional(),
})

/** A 422 naming one field, shaped like VineJS's own failures. */
export function invalidField(field: string, message: string) {
  return new errors.E_VALIDATION_ERROR([{ field, message, rule: 'range' }])
}
