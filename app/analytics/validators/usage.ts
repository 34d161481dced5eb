import vine, { errors } from '@vinejs/vine'
import { DAY_RULE, isBoundedDay } from '#core'

/** A real calendar day in a sane year: `-271821-04-20`, `0001-01-01` or year 99999 are a 422. */
const day = () =>
  vine
    .string()
    .trim()
    .use(
      vine.createRule((value, _options, field) => {
        if (!isBoundedDay(value)) field.report(DAY_RULE, 'date', field)
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
