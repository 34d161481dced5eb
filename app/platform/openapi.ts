/* The platform module's part of the OpenAPI document: the caller's notifications. */
import { addApiOperation, addApiSchema, pageSchema } from '#core'

addApiSchema('Notification', {
  type: 'object',
  required: ['id', 'kind', 'title', 'body', 'read', 'created_at'],
  properties: {
    id: { type: 'string' },
    tenant_id: { type: ['string', 'null'] },
    kind: { enum: ['budget.threshold', 'credits.low', 'purchase.paid'] },
    title: { type: 'string' },
    body: { type: 'string' },
    url: { type: ['string', 'null'] },
    read: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time' },
  },
})
addApiOperation('get', '/notifications', {
  name: 'platform.api.notifications.index',
  summary: "The caller's notifications (this workspace's and the user's own), newest first",
  ability: null,
  paged: true,
  responses: { 200: { description: 'One page', json: pageSchema('Notification') } },
})
addApiOperation('patch', '/notifications/:id', {
  name: 'platform.api.notifications.update',
  summary: 'Mark a notification read (`{"read": true}`)',
  ability: null,
  params: { id: 'The notification id' },
  body: { type: 'object', required: ['read'], properties: { read: { const: true } } },
  responses: { 200: { description: 'The notification', json: 'Notification' } },
})
