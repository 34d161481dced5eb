import vine from '@vinejs/vine'
import { boundedDay } from '#core'

export const GROUP_BY = ['day', 'agent', 'member', 'model'] as const

/** GET /api/v1/analytics/usage: whole days in the tenant's time zone, `to` included. */
export const usageValidator = vine.create({
  from: boundedDay().optional(),
  to: boundedDay().optional(),
  group_by: vine.enum(GROUP_BY).optional(),
})
