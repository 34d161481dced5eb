import vine from '@vinejs/vine'
import { PASSWORD_MAX } from '#auth/services/password_policy'

/*
 * Shapes only: what a code means is decided by parseSecondFactor. Field names differ per form
 * because the account page shows several of these forms at once (errors land on the right one).
 */
const password = () => vine.string().maxLength(PASSWORD_MAX)
const code = () => vine.string().maxLength(64)

export const enableTwoFactorValidator = vine.create({ enable_password: password() })
export const confirmTwoFactorValidator = vine.create({ code: code() })
export const disableTwoFactorValidator = vine.create({
  disable_password: password(),
  disable_code: code(),
})
export const regenerateRecoveryCodesValidator = vine.create({ regenerate_password: password() })
export const twoFactorChallengeValidator = vine.create({ code: code() })
