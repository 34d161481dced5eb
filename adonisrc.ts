import { defineConfig } from '@adonisjs/core/app'

const modules = ['core', 'platform', 'auth', 'tenants', 'credits', 'agents', 'analytics', 'admin']

export default defineConfig({
  experimental: {},

  commands: [
    () => import('@adonisjs/core/commands'),
    () => import('@adonisjs/lucid/commands'),
    () => import('@adonisjs/cache/commands'),
    () => import('#start/commands'),
  ],

  providers: [
    () => import('@adonisjs/core/providers/app_provider'),
    () => import('@adonisjs/core/providers/hash_provider'),
    { file: () => import('@adonisjs/core/providers/repl_provider'), environment: ['repl', 'test'] },
    () => import('@adonisjs/core/providers/vinejs_provider'),
    () => import('@adonisjs/core/providers/edge_provider'),
    () => import('#core/providers/embedded_database_provider'),
    () => import('@adonisjs/lucid/database_provider'),
    () => import('@adonisjs/redis/redis_provider'),
    () => import('@adonisjs/session/session_provider'),
    () => import('@adonisjs/shield/shield_provider'),
    () => import('@adonisjs/auth/auth_provider'),
    () => import('@adonisjs/cache/cache_provider'),
    () => import('@adonisjs/limiter/limiter_provider'),
    () => import('@adonisjs/transmit/transmit_provider'),
    () => import('@adonisjs/queue/queue_provider'),
    () => import('@adonisjs/mail/mail_provider'),
  ],

  preloads: [
    () => import('#start/routes'),
    () => import('#start/kernel'),
    () => import('#start/view'),
    () => import('#start/events'),
    { file: () => import('#start/scheduler'), environment: ['web'] },
    { file: () => import('#tests/helpers/probe_routes'), environment: ['test'] },
  ],

  // One Japa suite per module (unit + functional): `node ace test credits`. Browser tests of all
  // modules form the `browser` suite, so only it pays for launching chromium.
  tests: {
    suites: [
      ...modules.map((name) => ({
        name,
        files: [
          `tests/${name}/unit/**/*.spec.{ts,js}`,
          `tests/${name}/functional/**/*.spec.{ts,js}`,
        ],
        timeout: 30_000,
      })),
      { name: 'browser', files: ['tests/*/browser/**/*.spec.{ts,js}'], timeout: 60_000 },
    ],
    forceExit: false,
  },

  metaFiles: [
    { pattern: 'resources/views/**/*.edge', reloadServer: false },
    { pattern: 'resources/css/**', reloadServer: false },
    { pattern: 'resources/js/**', reloadServer: false },
    { pattern: 'public/**', reloadServer: false },
  ],
})
