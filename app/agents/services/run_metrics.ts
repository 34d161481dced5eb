import db from '@adonisjs/lucid/services/db'
import { Counter, Gauge, Histogram } from 'prom-client'
import { metricsRegistry } from '#core'
import type Run from '#agents/models/run'

const runsTotal = new Counter({
  name: 'agora_runs_total',
  help: 'Finished runs by terminal status (abandoned runs ended by recovery included)',
  labelNames: ['status'] as const,
  registers: [metricsRegistry],
})

const runDuration = new Histogram({
  name: 'agora_run_duration_seconds',
  help: 'Run latency from start to the provider side finishing, by terminal status',
  labelNames: ['status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  registers: [metricsRegistry],
})

new Gauge({
  name: 'agora_queue_depth',
  help: 'Runs queued and not yet taken by a worker (all processes)',
  registers: [metricsRegistry],
  async collect() {
    const row = await db
      .from('runs')
      .where('status', 'queued')
      .count('* as n')
      .first()
      .catch(() => null)
    this.set(Number(row?.n ?? 0))
  },
})

/** Counters of this process's finished runs. */
export const runMetrics = {
  finished(run: Pick<Run, 'status' | 'latencyMs'>) {
    runsTotal.inc({ status: run.status })
    if (run.latencyMs !== null && run.latencyMs !== undefined)
      runDuration.observe({ status: run.status }, run.latencyMs / 1000)
  },
}
