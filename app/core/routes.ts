import router from '@adonisjs/core/services/router'

const HealthController = () => import('#core/controllers/health_controller')
const LandingController = () => import('#core/controllers/landing_controller')
const MetricsController = () => import('#core/controllers/metrics_controller')
const OpenApiController = () => import('#core/controllers/openapi_controller')

router.get('/', [LandingController, 'show']).as('core.landing')
router.get('/health/live', [HealthController, 'live']).as('core.health.live')
router.get('/health/ready', [HealthController, 'ready']).as('core.health.ready')
router.get('/metrics', [MetricsController, 'show']).as('core.metrics.show')
router.get('/api/v1/openapi.json', [OpenApiController, 'show']).as('core.openapi.show')
