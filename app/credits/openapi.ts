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
