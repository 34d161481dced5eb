/* The credits module's part of the OpenAPI document. */
import { addApiOperation, addApiSchema, pageSchema } from '#core'
import { balanceSchema, ledgerEntrySchema } from '#credits/services/presenters'
import { ledgerFiltersValidator } from '#credits/validators/ledger'

addApiSchema('CreditBalance', balanceSchema)
addApiSchema('LedgerEntry', ledgerEntrySchema)

addApiOperation('get', '/credits', {
  name: 'credits.api.balance.show',
  summary: "The workspace's credits: balance, held by running work, available",
  ability: 'credits:read',
  responses: { 200: { description: 'Balance', json: 'CreditBalance' } },
})
addApiOperation('get', '/credits/ledger', {
  name: 'credits.api.ledger.index',
  summary: 'Ledger entries, newest first',
  description: 'Days (`from`, `to`, both included) are calendar days in the workspace time zone.',
  ability: 'credits:read',
  query: ledgerFiltersValidator,
  paged: true,
  responses: { 200: { description: 'One page', json: pageSchema('LedgerEntry') } },
})

const credits = { type: 'string', description: 'Credits as a decimal string', examples: ['12.5'] }
const created = { Location: 'The URL of what was created' }

addApiSchema('Plan', {
  type: 'object',
  required: ['slug', 'name', 'monthly_credits', 'price', 'currency'],
  properties: {
    slug: { type: 'string' },
    name: { type: 'string' },
    monthly_credits: credits,
    price: { type: 'string', description: 'Per month, in `currency`', examples: ['19.00'] },
    currency: { type: 'string', examples: ['usd'] },
    max_members: { type: ['integer', 'null'] },
  },
})
addApiSchema('CreditPack', {
  type: 'object',
  required: ['id', 'name', 'credits', 'price', 'currency'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    credits,
    price: { type: 'string', examples: ['45.00'] },
    currency: { type: 'string' },
  },
})
addApiSchema('Purchase', {
  type: 'object',
  required: ['id', 'status', 'provider', 'credits', 'price', 'currency', 'created_at'],
  properties: {
    id: { type: 'string' },
    status: { enum: ['pending', 'paid', 'failed'] },
    pack: { type: ['string', 'null'] },
    plan: { type: ['string', 'null'] },
    credits,
    price: { type: 'string' },
    currency: { type: 'string' },
    provider: { enum: ['manual', 'stripe'] },
    checkout_url: {
      type: ['string', 'null'],
      description: 'Stripe: where to send the buyer while pending',
    },
    ledger_entry_id: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    resolved_at: { type: ['string', 'null'], format: 'date-time' },
  },
})
addApiSchema('Budgets', {
  type: 'object',
  properties: {
    members: {
      type: 'object',
      additionalProperties: credits,
      description: 'user id → credits a month',
    },
    agents: {
      type: 'object',
      additionalProperties: credits,
      description: 'agent id → credits a month',
    },
    low_balance: {
      type: ['string', 'null'],
      description: 'Alert when available credits fall below this (null: off)',
    },
  },
})
const list = (item: string) => ({
  type: 'object',
  required: ['data'],
  properties: { data: { type: 'array', items: { $ref: `#/components/schemas/${item}` } } },
})

addApiOperation('get', '/plans', {
  name: 'credits.api.plans.index',
  summary: 'The plans: monthly credits and price',
  ability: 'credits:read',
  responses: { 200: { description: 'Plans, cheapest first', json: list('Plan') } },
})
addApiOperation('get', '/credits/packs', {
  name: 'credits.api.packs.index',
  summary: 'Credit packs for sale',
  ability: 'credits:read',
  responses: { 200: { description: 'Packs', json: list('CreditPack') } },
})
addApiOperation('get', '/credits/purchases', {
  name: 'credits.api.purchases.index',
  summary: "The workspace's purchases, newest first (the latest 100)",
  ability: 'credits:read',
  responses: { 200: { description: 'Purchases', json: pageSchema('Purchase') } },
})
addApiOperation('post', '/credits/purchases', {
  name: 'credits.api.purchases.store',
  summary: 'Buy a credit pack (or a plan) with the manual provider or Stripe Checkout',
  description:
    'Nothing is credited here: a manual purchase is an invoice a platform admin marks paid; a ' +
    'Stripe one answers `checkout_url` and is paid when Stripe reports the completed checkout. ' +
    'A plan takes effect from the next period.',
  ability: 'credits:write',
  headers: {
    'Idempotency-Key':
      'Replays the stored response for the same body within 24 h; 409 while the first is in flight or for another body',
  },
  body: {
    type: 'object',
    properties: {
      pack: { type: 'string', description: 'A credit pack id (or give plan)' },
      plan: { type: 'string', description: 'A paid plan slug (or give pack)' },
      provider: { enum: ['manual', 'stripe'], default: 'manual' },
    },
  },
  responses: { 201: { description: 'The purchase', json: 'Purchase', headers: created } },
  errors: [409, 502],
})
addApiOperation('get', '/credits/purchases/:id', {
  name: 'credits.api.purchases.show',
  summary: 'One purchase',
  ability: 'credits:read',
  params: { id: 'The purchase id' },
  responses: { 200: { description: 'The purchase', json: 'Purchase' } },
})
addApiOperation('get', '/budgets', {
  name: 'credits.api.budgets.show',
  summary: 'Monthly budgets per member and per agent, and the low-balance alert',
  description:
    'Months are calendar months in the workspace time zone. A run that would exceed a budget ' +
    '(its spend this month plus pending holds plus its own worst case) is refused with 403.',
  ability: 'credits:read',
  responses: { 200: { description: 'Budgets', json: 'Budgets' } },
})
addApiOperation('put', '/budgets', {
  name: 'credits.api.budgets.update',
  summary: 'Replace the budgets (subjects left out lose theirs); `low_balance` if given',
  ability: 'credits:write',
  body: 'Budgets',
  responses: { 200: { description: 'Budgets now', json: 'Budgets' } },
})
