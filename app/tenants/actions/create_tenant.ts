import { randomBytes } from 'node:crypto'
import db from '@adonisjs/lucid/services/db'
import { recordAudit } from '#platform'
import { DomainException } from '#core'
import Tenant from '#tenants/models/tenant'
import Membership from '#tenants/models/membership'

/** A slug suggestion from a name: lower-case ASCII, dashes, within the slug rules. */
export function slugify(name: string) {
  const base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/g, '')
  return base || 'workspace'
}

/** 422 on `slug`: another workspace has it. */
export class SlugTakenError extends DomainException {
  constructor(message: string) {
    super(message, { code: 'E_SLUG_TAKEN', field: 'slug' })
  }
}

/**
 * Creates a tenant with its first owner, in one transaction. With `uniqueSlug` a taken slug gets
 * a short random suffix (personal workspaces); otherwise it throws SlugTakenError (422 on slug).
 */
export async function createTenant(input: {
  name: string
  slug: string
  ownerId: string
  planId?: string
  timeZone?: string
  uniqueSlug?: boolean
}) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const slug =
      attempt === 0 ? input.slug : `${input.slug.slice(0, 33)}-${randomBytes(3).toString('hex')}`
    try {
      return await db.transaction(async (trx) => {
        const tenant = await Tenant.create(
          {
            name: input.name,
            slug,
            planId: input.planId ?? 'free',
            timeZone: input.timeZone ?? 'UTC',
            requireTwoFactor: false,
          },
          { client: trx }
        )
        await Membership.create(
          { tenantId: tenant.id, userId: input.ownerId, role: 'owner' },
          { client: trx }
        )
        await recordAudit(
          {
            action: 'tenants.tenant.created',
            actorId: input.ownerId,
            tenantId: tenant.id,
            subjectType: 'tenant',
            subjectId: tenant.id,
            changes: { slug, name: input.name },
          },
          trx
        )
        return tenant
      })
    } catch (error: any) {
      const slugClash =
        error?.code === '23505' && String(error?.constraint ?? error?.detail ?? '').includes('slug')
      if (!slugClash) throw error
      if (!input.uniqueSlug)
        throw new SlugTakenError(`The slug "${slug}" is taken; choose another.`)
    }
  }
  throw new SlugTakenError('Could not find a free slug.')
}
