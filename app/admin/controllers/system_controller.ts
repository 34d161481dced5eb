import type { HttpContext } from '@adonisjs/core/http'
import db from '@adonisjs/lucid/services/db'
import { createRequire } from 'node:module'
import { metricsRegistry, readiness } from '#core'
import { adminLinks } from '#admin/services/nav'

const version: string = createRequire(import.meta.url)('../../../package.json').version

/** Sums a metric's samples (optionally those with one label value) from the registry's JSON. */
function metricValue(
  metrics: { name: string; values: { value: number; labels: Record<string, unknown> }[] }[],
  name: string,
  label?: [string, string]
) {
  const metric = metrics.find((m) => m.name === name)
  return (metric?.values ?? [])
    .filter((v) => !label || v.labels[label[0]] === label[1])
    .reduce((sum, v) => sum + v.value, 0)
}

/**
 * /admin: the system at a glance — health checks, queue depth, pending credit holds, this
 * process's cache hit ratio, the app version and the database migrations applied.
 */
export default class SystemController {
  async show({ view, auth }: HttpContext) {
    const [health, metrics, migrations] = await Promise.all([
      readiness(),
      metricsRegistry.getMetricsAsJSON() as Promise<any[]>,
      db.from('adonis_schema').orderBy('id', 'desc').select('name', 'batch', 'migration_time'),
    ])
    const hits = metricValue(metrics, 'agora_cache_requests_total', ['result', 'hit'])
    const misses = metricValue(metrics, 'agora_cache_requests_total', ['result', 'miss'])
    return view.render('admin::pages/system', {
      user: auth.user,
      links: adminLinks(),
      health,
      queueDepth: metricValue(metrics, 'agora_queue_depth'),
      holdsPending: metricValue(metrics, 'agora_holds_pending'),
      cache: {
        hits,
        misses,
        ratio: hits + misses ? `${Math.round((hits * 1000) / (hits + misses)) / 10} %` : '—',
      },
      version,
      node: process.version,
      uptime: Math.round(process.uptime()),
      migrations: { count: migrations.length, latest: migrations[0]?.name ?? null },
    })
  }
}
