import db from '@adonisjs/lucid/services/db'
import { Gauge } from 'prom-client'
import { metricsRegistry } from '#core'

new Gauge({
  name: 'agora_holds_pending',
  help: 'Credit holds not yet settled, released or expired (all tenants)',
  registers: [metricsRegistry],
  async collect() {
    const row = await db
      .from('credit_holds')
      .where('status', 'pending')
      .count('* as n')
      .first()
      .catch(() => null)
    this.set(Number(row?.n ?? 0))
  },
})
