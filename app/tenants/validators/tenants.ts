import vine from '@vinejs/vine'
import { IANAZone } from 'luxon'
import { SLUG_PATTERN } from '#tenants/actions/create_tenant'
import { ROLES } from '#tenants/roles'

const timeZone = () =>
  vine
    .string()
    .trim()
    .maxLength(64)
    .use(vine.createRule((value, _o, field) => {
      if (typeof value === 'string' && !IANAZone.isValidZone(value)) field.report('Choose a time zone from the list.', 'timeZone', field)
    })())

export const createTenantValidator = vine.create({
  name: vine.string().trim().minLength(1).maxLength(120),
  slug: vine.string().trim().toLowerCase().regex(SLUG_PATTERN),
  timeZone: timeZone().optional(),
})

export const updateTenantValidator = vine.create({
  name: vine.string().trim().minLength(1).maxLength(120),
  timeZone: timeZone(),
})

export const roleValidator = vine.create({
  role: vine.enum(ROLES),
})
