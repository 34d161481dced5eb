import vine from '@vinejs/vine'
import { PASSWORD_MAX } from '#auth/services/password_policy'

const email = () => vine.string().trim().maxLength(254).email()

export const passwordResetRequestValidator = vine.create({
  email: email(),
})

export const passwordResetValidator = vine.create({
  password: vine.string().minLength(1).maxLength(PASSWORD_MAX),
  // An unchecked box sends nothing: the tokens stay.
  revoke_api_tokens: vine.boolean().optional(),
})

/** Field names differ from the password form's: both forms share the account page. */
export const emailChangeValidator = vine.create({
  new_email: email(),
  email_password: vine.string().maxLength(PASSWORD_MAX),
})
