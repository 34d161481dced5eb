import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import cache from '@adonisjs/cache/services/main'
import { SLUG_PATTERN } from '#core'
import { appUrl } from '#config/app'
import Tenant from '#tenants/models/tenant'
import { domainCacheKey } from '#tenants/services/domains'

const rootHost = new URL(appUrl).hostname.toLowerCase()
/** Paths that stay global on every host. */
const GLOBAL =
  /^\/(t\/|api\/|assets\/|health\/|metrics$|login|signup|session|account|password-resets|email-verifications|invitations|admin)/

/** The tenant slug a host stands for: `<slug>.<APP_URL host>` or a verified custom domain. */
async function slugForHost(host: string): Promise<string | null> {
  if (host === rootHost || host === 'localhost' || /^[\d.]+$|:/.test(host)) return null
  if (host.endsWith(`.${rootHost}`)) {
    const label = host.slice(0, -rootHost.length - 1)
    return SLUG_PATTERN.test(label) ? label : null
  }
  return cache.getOrSet({
    key: domainCacheKey(host),
    ttl: '1m',
    factory: async () => {
      const tenant = await Tenant.query()
        .where('customDomain', host)
        .whereNotNull('domainVerifiedAt')
        .select('slug')
        .first()
      return tenant?.slug ?? null
    },
  })
}

/**
 * Host-based tenant resolution: a request on a tenant's subdomain or verified custom domain is
 * routed as `/t/<slug>/…`, so both addresses serve the same pages with the same checks.
 */
export default class TenantHostMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    const host = (ctx.request.hostname() ?? '').toLowerCase()
    const path = ctx.request.url()
    if (!GLOBAL.test(path)) {
      const slug = await slugForHost(host)
      if (slug) ctx.request.parsedUrl.pathname = `/t/${slug}${path === '/' ? '' : path}`
    }
    return next()
  }
}
