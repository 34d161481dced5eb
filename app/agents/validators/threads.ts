import vine from '@vinejs/vine'

/** POST /api/v1/threads: an optional title and agent (id or slug). */
export const threadValidator = vine.create({
  title: vine.string().trim().maxLength(200).optional(),
  agent: vine.string().trim().maxLength(64).optional(),
})
