/*
 * credits routes. Names are prefixed with the module (`credits.<resource>.<action>`).
 */
import router from '@adonisjs/core/services/router'
import { addApiPath, addApiSchema } from '#core'
import { middleware } from '#start/kernel'
import { LEDGER_KINDS } from '#credits/types'
import { startHoldSweeper } from '#credits/sweeper'

const CreditsController = () => import('#credits/controllers/credits_controller')
const BalanceController = () => import('#credits/controllers/balance_controller')
const LedgerExportsController = () => import('#credits/controllers/ledger_exports_controller')
const ApiBalanceController = () => import('#credits/controllers/api_balance_controller')
const ApiLedgerController = () => import('#credits/controllers/api_ledger_controller')

router
  .group(() => {
    router.get('/credits', [CreditsController, 'show']).as('credits.credits.show')
    router.get('/credits/balance', [BalanceController, 'show']).as('credits.balance.show')
    router
      .get('/credits/ledger.csv', [LedgerExportsController, 'show'])
      .as('credits.ledger_exports.show')
  })
  .prefix('/t/:tenant')
  .use([middleware.auth(), middleware.tenant()])

router
  .group(() => {
    router.get('/credits', [ApiBalanceController, 'show']).as('credits.api.balance.show')
    router.get('/credits/ledger', [ApiLedgerController, 'index']).as('credits.api.ledger.index')
  })
  .prefix('/api/v1')
  .use([middleware.api(), middleware.apiTenant()])

// The stale-hold sweeper lives with the module; it only starts in web processes.
startHoldSweeper()

const credits = {
  type: 'string',
  pattern: '^-?\\d+(\\.\\d{1,6})?$',
  description: 'Credits as a decimal string (up to 6 decimals)',
}
const problems = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: 'Problem document',
        content: {
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        },
      },
    ])
  )

addApiSchema('CreditBalance', {
  type: 'object',
  required: ['balance', 'held', 'available', 'currency'],
  properties: {
    balance: credits,
    held: credits,
    available: credits,
    currency: { type: 'string', const: 'credits' },
  },
})
addApiSchema('LedgerEntry', {
  type: 'object',
  required: ['id', 'kind', 'amount', 'balance_after', 'reference', 'created_at'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: [...LEDGER_KINDS] },
    amount: { ...credits, description: 'Signed: money in is positive, spend negative' },
    balance_after: credits,
    reference: { type: ['string', 'null'] },
    member_id: { type: ['string', 'null'] },
    agent_id: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
  },
})
addApiPath('/credits', {
  get: {
    summary: "The workspace's credits: balance, held by running work, available",
    description: 'Needs the `credits:read` ability.',
    responses: {
      '200': {
        description: 'Balance',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/CreditBalance' } } },
      },
      ...problems(401, 403),
    },
  },
})
const query = (
  name: string,
  description: string,
  schema: Record<string, unknown> = { type: 'string' }
) => ({ name, in: 'query', required: false, description, schema })
addApiPath('/credits/ledger', {
  get: {
    summary: 'Ledger entries, newest first',
    description:
      'Needs the `credits:read` ability. Dates are calendar days in the workspace time zone.',
    parameters: [
      query('limit', 'Page size, 1–100 (default 20)', {
        type: 'integer',
        minimum: 1,
        maximum: 100,
      }),
      query('cursor', 'Opaque: `next_cursor` of the previous page'),
      query('kind', 'Only entries of this kind', { type: 'string', enum: [...LEDGER_KINDS] }),
      query('from', 'From this day (YYYY-MM-DD), inclusive', { type: 'string', format: 'date' }),
      query('to', 'Up to this day (YYYY-MM-DD), inclusive', { type: 'string', format: 'date' }),
      query('member', 'Only entries of this member (user id)'),
      query('agent', 'Only entries of this agent (agent id)'),
    ],
    responses: {
      '200': {
        description: 'One page',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['data', 'next_cursor'],
              properties: {
                data: { type: 'array', items: { $ref: '#/components/schemas/LedgerEntry' } },
                next_cursor: { type: ['string', 'null'] },
              },
            },
          },
        },
      },
      ...problems(401, 403, 422),
    },
  },
})
