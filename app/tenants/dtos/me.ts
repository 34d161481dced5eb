import vine from '@vinejs/vine'
import type { Infer } from '@vinejs/vine/types'
import { API_ABILITIES } from '#auth'
import { ROLES } from '#tenants/roles'

/** Who a token acts as, where, and with which effective abilities (OpenAPI `Me`). */
export const meSchema = vine.object({
  user: vine.object({ id: vine.string(), email: vine.string(), name: vine.string() }),
  tenant: vine.object({ id: vine.string(), slug: vine.string(), name: vine.string() }),
  role: vine.enum(ROLES),
  abilities: vine
    .array(vine.enum(API_ABILITIES))
    .meta({ description: "The token's abilities (all when it names none) that the role allows" }),
})
export type MeDto = Infer<typeof meSchema>
