/*
 * HTTP kernel: the error handler, server middleware (every request, even unmatched ones) and
 * router middleware (matched routes), plus the named middleware routes may opt into.
 */
import router from '@adonisjs/core/services/router'
import server from '@adonisjs/core/services/server'

server.errorHandler(() => import('#core/exception_handler'))

server.use([
  () => import('#core/middleware/request_context_middleware'),
  () => import('#core/middleware/metrics_middleware'),
  () => import('#core/middleware/compression_middleware'),
  () => import('#core/middleware/assets_middleware'),
  () => import('#tenants/middleware/tenant_host_middleware'),
])

router.use([
  () => import('@adonisjs/core/bodyparser_middleware'),
  () => import('#core/middleware/web_middleware'),
  () => import('#core/middleware/input_hygiene_middleware'),
  () => import('#auth/middleware/initialize_auth_middleware'),
])

export const middleware = router.named({
  auth: () => import('#auth/middleware/authenticate_middleware'),
  guest: () => import('#auth/middleware/guest_middleware'),
  api: () => import('#auth/middleware/api_auth_middleware'),
  tenant: () => import('#tenants/middleware/tenant_middleware'),
  apiTenant: () => import('#tenants/middleware/api_tenant_middleware'),
})
