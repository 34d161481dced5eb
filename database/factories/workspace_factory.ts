import type { ApiAbility, User } from '#auth'
import { createTenant, type Tenant } from '#tenants'
import { grant } from '#credits'
import { UserFactory } from '#database/factories/user_factory'
import { uniqueSlug } from '#database/factories/tenant_factory'
import { ApiTokenFactory } from '#database/factories/api_token_factory'

export type WorkspaceOptions = {
  /** Default: a new user named "<name> Owner". */
  owner?: User
  /** Default: Acme. */
  name?: string
  slug?: string
  timeZone?: string
  /** Micro-credits granted through the ledger (reason "test funds"); none by default. */
  grant?: bigint
  /** An API token of the owner for the workspace: true for every ability, or a list. */
  token?: true | ApiAbility[]
  /** The plan (default: free, which allows 3 members; business has no member limit). */
  plan?: string
}

export type Workspace = { owner: User; tenant: Tenant }

async function create(
  options: WorkspaceOptions & { token: true | ApiAbility[] }
): Promise<Workspace & { token: string }>
async function create(options?: WorkspaceOptions): Promise<Workspace>
async function create(options: WorkspaceOptions = {}) {
  const name = options.name ?? 'Acme'
  const owner = options.owner ?? (await UserFactory.merge({ name: `${name} Owner` }).create())
  const tenant = await createTenant({
    name,
    slug: options.slug ?? uniqueSlug(),
    ownerId: owner.id,
    timeZone: options.timeZone,
  })
  if (options.plan) await tenant.merge({ planId: options.plan }).save()
  if (options.grant)
    await grant({
      tenantId: tenant.id,
      amount: options.grant,
      reason: 'test funds',
      actorLabel: 'test',
    })
  if (!options.token) return { owner, tenant }
  const abilities = options.token === true ? [] : options.token
  return { owner, tenant, token: await ApiTokenFactory.create(owner, tenant.id, abilities) }
}

/**
 * Workspaces as the app makes them: the createTenant action writes the tenant, its owner
 * membership and the audit event in one transaction, so this wraps it instead of building rows.
 * Credits are a ledger grant (the account appears with it), so balance = sum of entries holds.
 */
export const WorkspaceFactory = { create }
