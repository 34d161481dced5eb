import { defineConfig } from '@adonisjs/core/app'

const modules = ['core', 'platform', 'auth', 'tenants', 'credits', 'agents', 'analytics', 'admin']

export default defineConfig({
  experimental: {},

  commands: [
    () => import('@adonisjs/core/commands'),
    () => import('@adonisjs/lucid/commands'),
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
    () => import('@adonisjs/static/static_provider'),
  ],

  preloads: [
    () => import('#start/routes'),
    () => import('#start/kernel'),
    () => import('#start/view'),
  ],

  // One Japa suite per module: `node ace test credits` runs one module's tests.
  tests: {
    suites: modules.map((name) => ({
      name,
      files: [`tests/${name}/**/*.spec.{ts,js}`],
      timeout: 30_000,
    })),
    forceExit: false,
  },

  metaFiles: [
    { pattern: 'resources/views/**/*.edge', reloadServer: false },
    { pattern: 'resources/css/**', reloadServer: false },
    { pattern: 'resources/js/**', reloadServer: false },
    { pattern: 'public/**', reloadServer: false },
  ],
})
