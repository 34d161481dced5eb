/* The tenants module's part of the OpenAPI document. */
import { addApiOperation, addApiSchema } from '#core'
import { meSchema } from '#tenants/dtos/me'

addApiSchema('Me', meSchema)

addApiOperation('get', '/me', {
  name: 'tenants.me.show',
  summary: 'Who the token acts as, in which workspace, with which abilities',
  ability: null,
  responses: { 200: { description: 'The token holder', json: 'Me' } },
})
