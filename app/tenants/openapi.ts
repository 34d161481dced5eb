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

const events = { enum: ['run.finished', 'credits.low', 'budget.threshold', 'eval.finished'] }
const endpointProperties = {
  id: { type: 'string' },
  url: { type: 'string' },
  events: { type: 'array', items: events },
  previous_secret_expires_at: {
    type: ['string', 'null'],
    format: 'date-time',
    description: 'After a rotation, the previous secret also signs (a second v1) until then',
  },
  created_at: { type: 'string', format: 'date-time' },
}
addApiSchema('WebhookEndpoint', {
  type: 'object',
  required: ['id', 'url', 'events', 'created_at'],
  properties: endpointProperties,
})
addApiSchema('WebhookEndpointWithSecret', {
  type: 'object',
  required: ['id', 'url', 'events', 'created_at', 'secret'],
  properties: {
    ...endpointProperties,
    secret: { type: 'string', description: 'The signing secret, shown this once' },
  },
})
addApiSchema('WebhookDelivery', {
  type: 'object',
  required: ['id', 'event_id', 'type', 'status', 'attempts', 'created_at'],
  properties: {
    id: { type: 'string' },
    event_id: {
      type: 'string',
      description: 'The delivered body’s `id` (the same on a redelivery)',
    },
    type: events,
    status: { enum: ['pending', 'delivered', 'failed'] },
    attempts: { type: 'integer' },
    next_attempt_at: { type: ['string', 'null'], format: 'date-time' },
    last_status: { type: ['integer', 'null'] },
    last_error: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    delivered_at: { type: ['string', 'null'], format: 'date-time' },
  },
})
const webhookParam = { id: 'The endpoint id' }
const list = (item: string) => ({
  type: 'object',
  required: ['data'],
  properties: {
    data: { type: 'array', items: { $ref: `#/components/schemas/${item}` } },
    next_cursor: { type: 'null' },
  },
})

addApiOperation('get', '/webhooks', {
  name: 'tenants.api.webhooks.index',
  summary: 'Outbound webhook endpoints',
  ability: 'webhooks:write',
  responses: { 200: { description: 'Endpoints', json: list('WebhookEndpoint') } },
})
addApiOperation('post', '/webhooks', {
  name: 'tenants.api.webhooks.store',
  summary: 'Add an endpoint; its signing secret is in this answer only',
  description:
    'Deliveries are `{id, type, created_at, data}` signed in `Agora-Signature: t=<unix>,v1=<hex ' +
    'HMAC-SHA256 of "t.body">`, retried with backoff for 24 h. Private and loopback addresses ' +
    'are refused unless the operator set WEBHOOK_ALLOW_PRIVATE_NETWORKS.',
  ability: 'webhooks:write',
  body: {
    type: 'object',
    required: ['url', 'events'],
    properties: { url: { type: 'string' }, events: { type: 'array', items: events } },
  },
  responses: {
    201: {
      description: 'The endpoint with its secret',
      json: 'WebhookEndpointWithSecret',
      headers: { Location: 'The URL of what was created' },
    },
  },
})
addApiOperation('get', '/webhooks/:id', {
  name: 'tenants.api.webhooks.show',
  summary: 'One endpoint (without its secret)',
  ability: 'webhooks:write',
  params: webhookParam,
  responses: { 200: { description: 'The endpoint', json: 'WebhookEndpoint' } },
})
addApiOperation('delete', '/webhooks/:id', {
  name: 'tenants.api.webhooks.destroy',
  summary: 'Delete an endpoint (its pending deliveries are dropped)',
  ability: 'webhooks:write',
  params: webhookParam,
  responses: { 204: { description: 'Deleted' } },
})
addApiOperation('post', '/webhooks/:id/secret-rotations', {
  name: 'tenants.api.webhook_secret_rotations.store',
  summary: 'A new signing secret (in this answer only); the previous one also signs for 24 h',
  ability: 'webhooks:write',
  params: webhookParam,
  responses: {
    201: { description: 'The endpoint with its new secret', json: 'WebhookEndpointWithSecret' },
  },
})
addApiOperation('get', '/webhooks/:id/deliveries', {
  name: 'tenants.api.webhook_deliveries.index',
  summary: 'The endpoint’s latest 50 deliveries, newest first',
  ability: 'webhooks:write',
  params: webhookParam,
  responses: { 200: { description: 'Deliveries', json: list('WebhookDelivery') } },
})
addApiOperation('post', '/webhooks/:id/deliveries/:delivery/redeliver', {
  name: 'tenants.api.webhook_redeliveries.store',
  summary: 'Send a delivery again (same event id), now, with a fresh 24 h retry window',
  ability: 'webhooks:write',
  params: { ...webhookParam, delivery: 'The delivery id' },
  responses: { 202: { description: 'The delivery, pending', json: 'WebhookDelivery' } },
})
