import vine, { errors } from '@vinejs/vine'
import { boundedDay } from '#core'

export const GROUP_BY = ['day', 'agent', 'member', 'model'] as const

/** GET /api/v1/analytics/usage: whole days in the tenant's time zone, `to` included. */
export const usageValidator = vine.create({
  from: boundedDay().optional(),
  to: boundedDay().optional(),
  group_by: vine.enum(GROUP_BY).optional(),
})

/** A 422 naming one field, shaped like VineJS's own failures. */
export function invalidField(field: string, message: string) {
  return new errors.E_VALIDATION_ERROR([{ field, message, rule: 'range' }])
}
