import vine from '@vinejs/vine'
import { IANAZone } from 'luxon'
import { slug } from '#core'
import { INVITABLE_ROLES, ROLES } from '#tenants/roles'

const timeZone = () =>
  vine
    .string()
    .trim()
    .maxLength(64)
    .use(
      vine.createRule((value, _o, field) => {
        if (typeof value === 'string' && !IANAZone.isValidZone(value))
          field.report('Choose a time zone from the list.', 'timeZone', field)
      })()
    )

export const createTenantValidator = vine.create({
  name: vine.string().trim().minLength(1).maxLength(120),
  slug: slug(),
  timeZone: timeZone().optional(),
})

/** Retention choices of run inputs and outputs ('forever' keeps them). */
export const RUN_RETENTION_CHOICES = ['30', '90', '365', 'forever'] as const

export const updateTenantValidator = vine.create({
  name: vine.string().trim().minLength(1).maxLength(120),
  timeZone: timeZone(),
  runRetention: vine.enum(RUN_RETENTION_CHOICES).optional(),
})

export const roleValidator = vine.create({
  role: vine.enum(ROLES),
})

export const invitationValidator = vine.create({
  email: vine.string().trim().maxLength(254).email(),
  role: vine.enum(INVITABLE_ROLES),
})

/** The sign-up form of an invitation page (the address comes from the invitation). */
export const invitationSignupValidator = vine.create({
  name: vine.string().trim().minLength(1).maxLength(120),
  password: vine.string().minLength(8).maxLength(128),
})

/** The new owner: a membership id, or (from the page's picker) the member's email. */
export const ownershipTransferValidator = vine.create({
  membership_id: vine.string().trim().maxLength(64).optional(),
  email: vine.string().trim().maxLength(254).optional(),
})

export const domainValidator = vine.create({
  domain: vine.string().trim().minLength(1).maxLength(300),
})

export const securityValidator = vine.create({
  require_two_factor: vine.boolean().optional(),
})

/** Deleting a workspace is confirmed by typing its slug. */
export const deletionValidator = vine.create({
  confirm: vine.string().trim().maxLength(64),
})
