import type { HttpContext } from '@adonisjs/core/http'
import db from '@adonisjs/lucid/services/db'
import type { LucidModel, ModelQueryBuilderContract } from '@adonisjs/lucid/types/model'
import type { QueryClientContract, TransactionClientContract } from '@adonisjs/lucid/types/database'
import { ForbiddenException, hydrate, tokenAbilities } from '#auth'
import {
  beginWith,
  isUuid,
  preparedQuery,
  scopedClient,
  withoutBeginSuffix,
  withPinnedTransaction,
  withScopedClient,
} from '#core'
import { APP_ROLE } from '#database/rls'
import Tenant from '#tenants/models/tenant'
import Membership from '#tenants/models/membership'
import { ABILITY_PERMISSIONS, roleAllows, type Permission } from '#tenants/roles'
import {
  cachedMembershipFacts,
  cachedTenantFacts,
  cachedTenantIdBySlug,
  cachedTenantIdsOf,
} from '#tenants/services/access_cache'

declare module '@adonisjs/core/http' {
  interface HttpContext {
    tenant?: Tenant
    membership?: Membership
  }
}

/** The current tenant of a request that went through the tenant middleware. */
export function currentTenant(ctx: HttpContext) {
  if (!ctx.tenant || !ctx.membership)
    throw new Error('No tenant on this request: add the tenant middleware')
  return { tenant: ctx.tenant, membership: ctx.membership }
}

/**
 * The one way to load tenant-owned rows: a query that starts from the tenant. Another tenant's
 * id then simply matches nothing (404), never a 403 or a leak.
 */
export function scoped<Model extends LucidModel>(
  tenant: Pick<Tenant, 'id'>,
  model: Model,
  client?: QueryClientContract
): ModelQueryBuilderContract<Model> {
  return (client ? model.query({ client }) : model.query()).where(
    `${model.table}.tenant_id`,
    tenant.id
  ) as ModelQueryBuilderContract<Model>
}

/** Finds a tenant-owned row by id within the tenant, or null (a malformed id is simply absent). */
export async function findScoped<Model extends LucidModel>(
  tenant: Pick<Tenant, 'id'>,
  model: Model,
  id: unknown,
  client?: QueryClientContract
) {
  if (!isUuid(id)) return null
  return scoped(tenant, model, client).where(`${model.table}.id`, id).first()
}

/** The statement that binds a transaction to a tenant; sent with BEGIN (one round trip). */
function tenantBinding(tenantId: string) {
  // Inline, not a bind parameter (BEGIN goes in the same simple query): a checked UUID is safe.
  if (!isUuid(tenantId)) throw new Error('a tenant binding needs a tenant id')
  return `SELECT set_config('app.tenant_id', '${tenantId}', true), set_config('role', '${APP_ROLE}', true)`
}

/**
 * Runs `fn` in a transaction bound to the tenant for row-level security: the app role plus the
 * transaction-local tenant id (one round trip), so even a query that forgot its WHERE sees only
 * this tenant. `client` picks another connection (e.g. a dedicated pool); by default the app's.
 */
export async function withTenant<T>(
  tenantId: string,
  fn: (trx: TransactionClientContract) => Promise<T>,
  options: { client?: QueryClientContract } = {}
) {
  if (!isUuid(tenantId)) throw new Error('withTenant needs a tenant id')
  const runner = options.client ?? db.connection()
  if (!runner.isTransaction) {
    return beginWith(tenantBinding(tenantId), () =>
      runner.transaction((trx) => withoutBeginSuffix(() => fn(trx)))
    )
  }
  // Inside an outer transaction (tests run in one) this is a savepoint, and a released
  // savepoint keeps SET LOCAL until the outer end: restore the settings explicitly then.
  return runner.transaction(async (trx) => {
    await preparedQuery(
      trx,
      `SELECT set_config('app.tenant_id', ?, true), set_config('role', ?, true)`,
      [tenantId, APP_ROLE]
    )
    const result = await fn(trx)
    await trx.rawQuery(
      `SELECT set_config('role', 'none', true), set_config('app.tenant_id', '', true)`
    )
    return result
  })
}

/**
 * Whether tenant pages and API reads run bound to their tenant (the default): `TENANT_RLS=off`
 * leaves them to app-level scoping alone (read per call, so tests and benchmarks can switch it).
 */
export function rlsPerRequest() {
  return process.env.TENANT_RLS !== 'off'
}

/** Routes that read no tenant rows (answered from caches): no transaction to open for them. */
const unboundRoutes = new Set<string>()

export function readsNoTenantRows(routeName: string) {
  unboundRoutes.add(routeName)
}

/**
 * Runs the rest of a tenant request (GET/HEAD: reads only) bound to the tenant: its first query
 * opens a transaction whose BEGIN also binds tenant and role, and every query of the request
 * uses it, so row-level security backs each read even where a WHERE was forgotten. A request
 * answered without a query opens nothing. Event streams stay outside (they would hold it).
 */
export function bindTenantReads(ctx: HttpContext, next: () => Promise<unknown>) {
  const { tenant } = currentTenant(ctx)
  const method = ctx.request.method()
  if (
    !rlsPerRequest() ||
    (method !== 'GET' && method !== 'HEAD') ||
    ctx.request.url().endsWith('/events') ||
    unboundRoutes.has(ctx.route?.name ?? '') ||
    scopedClient()
  )
    return next()
  // Inside an outer transaction (the test suite's) the binding is a savepoint of it.
  if (db.connection().isTransaction)
    return withTenant(tenant.id, (trx) => withScopedClient(trx, next))
  return withPinnedTransaction(tenantBinding(tenant.id), next)
}

/**
 * Throws 403 naming what is missing unless the member's role allows `permission` and, for API
 * requests, the token carries the matching ability (rights = role ∩ abilities).
 */
export function authorize(ctx: HttpContext, permission: Permission) {
  const { membership } = currentTenant(ctx)
  if (!roleAllows(membership.role, permission)) {
    throw new ForbiddenException(
      `Your role (${membership.role}) does not allow ${permission.replace('.', ' ')}.`,
      { status: 403, code: 'E_FORBIDDEN' }
    )
  }
  if (ctx.request.url().startsWith('/api/')) {
    const abilities = tokenAbilities(ctx)
    const needed = Object.entries(ABILITY_PERMISSIONS)
      .filter(([, p]) => p === permission)
      .map(([a]) => a)
    if (
      abilities.length &&
      needed.length &&
      !needed.some((ability) => abilities.includes(ability))
    ) {
      throw new ForbiddenException(`This token lacks the "${needed[0]}" ability.`, {
        status: 403,
        code: 'E_FORBIDDEN',
      })
    }
  }
}

/** A suspended tenant is read-only: writes (and runs) are refused with a clear reason. */
export function assertWritable(ctx: HttpContext) {
  const { tenant } = currentTenant(ctx)
  if (tenant.suspended) {
    throw new ForbiddenException(
      'This workspace is suspended: it is read-only until an administrator lifts the suspension.',
      { status: 403, code: 'E_TENANT_SUSPENDED' }
    )
  }
}

/** The tenants a user belongs to, for the switcher, from the caches (no query when warm). */
export async function cachedTenantsOf(userId: string) {
  const tenants = await Promise.all(
    (await cachedTenantIdsOf(userId)).map((id) => cachedTenantFacts(id))
  )
  return tenants
    .filter((facts) => facts !== null)
    .map((facts) => hydrate(Tenant, facts!))
    .sort((a, b) => a.name.localeCompare(b.name))
}

/** The tenant with this slug and the user's membership of it, from the caches; null for a non-member. */
export async function cachedMembershipBySlug(userId: string, slug: string) {
  const id = slug ? await cachedTenantIdBySlug(slug) : null
  return id ? cachedMembershipFor(userId, id) : null
}

/** The tenants a user belongs to, for the switcher. */
export async function tenantsOf(userId: string) {
  return Tenant.query()
    .join('memberships', 'memberships.tenant_id', 'tenants.id')
    .where('memberships.user_id', userId)
    .select('tenants.*', 'memberships.role as role')
    .orderBy('tenants.name')
}

/** Loads tenant + membership for a user, or nulls (a non-member sees a 404). */
export async function membershipFor(userId: string, where: { slug?: string; id?: string }) {
  const tenant = where.slug
    ? await Tenant.findBy('slug', where.slug)
    : isUuid(where.id)
      ? await Tenant.find(where.id)
      : null
  if (!tenant) return null
  const membership = await Membership.query()
    .where('tenantId', tenant.id)
    .where('userId', userId)
    .first()
  return membership ? { tenant, membership } : null
}

/** Like `membershipFor` by tenant id, from the short-lived cache (no query when warm): for API tokens. */
export async function cachedMembershipFor(userId: string, tenantId: string) {
  if (!isUuid(tenantId)) return null
  const tenant = await cachedTenantFacts(tenantId)
  const membership = tenant && (await cachedMembershipFacts(tenantId, userId))
  return tenant && membership
    ? { tenant: hydrate(Tenant, tenant), membership: hydrate(Membership, membership) }
    : null
}
