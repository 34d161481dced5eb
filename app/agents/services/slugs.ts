import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { InvalidInputException } from '#core'

/** Slugs that would shadow a page under /agents/ or /workflows/ (e.g. …/new is the create form). */
const RESERVED_SLUGS = new Set(['new', 'edit', 'versions', 'runs', 'chat'])

export function assertSlugAllowed(slug: string) {
  if (RESERVED_SLUGS.has(slug))
    throw new InvalidInputException('slug', `"${slug}" is reserved; choose another slug.`)
}

/** Whether a live (not deleted) row of `table` in the tenant has the slug. */
export async function slugTaken(
  trx: TransactionClientContract,
  table: 'agents' | 'workflows',
  tenantId: string,
  slug: string,
  exceptId?: string
) {
  const query = trx
    .from(table)
    .where('tenant_id', tenantId)
    .where('slug', slug)
    .whereNull('deleted_at')
  if (exceptId) query.whereNot('id', exceptId)
  return Boolean(await query.first())
}
