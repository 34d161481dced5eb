import vine from '@vinejs/vine'

/** PUT /api/v1/tool-settings; entries are checked one by one by saveToolSettings. */
export const toolSettingsValidator = vine.create({
  http_allowed_hosts: vine.array(vine.any()).maxLength(1000),
})
